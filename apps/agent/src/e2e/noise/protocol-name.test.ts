import { describe, expect, it } from "vitest";
import { isNoiseError } from "./noise-error.js";
import { parseProtocolName } from "./protocol-name.js";

function rejection(name: string): string {
  try {
    parseProtocolName(name);
  } catch (error) {
    if (isNoiseError(error, "UNSUPPORTED_PROTOCOL")) return error.message;
    throw error;
  }
  throw new Error(`${name} was accepted`);
}

describe("parseProtocolName", () => {
  it("parses the production name", () => {
    const protocol = parseProtocolName("Noise_IK_25519_AESGCM_SHA256");
    expect(protocol.pattern.name).toBe("IK");
    expect(protocol.dh).toBe("25519");
    expect(protocol.cipher.name).toBe("AESGCM");
    expect(protocol.hash.name).toBe("SHA256");
    expect(parseProtocolName("Noise_XX_25519_ChaChaPoly_BLAKE2b").hash.hashLength).toBe(64);
  });

  it("rejects what it does not implement, saying which part", () => {
    expect(rejection("Noise_XXpsk3_25519_ChaChaPoly_SHA256")).toMatch(/pattern "XXpsk3"/);
    expect(rejection("Noise_N_25519_ChaChaPoly_SHA256")).toMatch(/pattern "N"/);
    expect(rejection("Noise_XX_448_ChaChaPoly_SHA256")).toMatch(/DH "448"/);
    expect(rejection("Noise_XX_25519_AESCCM_SHA256")).toMatch(/cipher "AESCCM"/);
    expect(rejection("Noise_XX_25519_ChaChaPoly_SHA512")).toMatch(/hash "SHA512"/);
    expect(rejection("Noise_XX_25519_ChaChaPoly_BLAKE2s")).toMatch(/hash "BLAKE2s"/);
    expect(rejection("Noise_XX_25519_ChaChaPoly")).toMatch(/expected "Noise_<pattern>/);
    expect(rejection("NoiseXX_25519_ChaChaPoly_SHA256_x")).toMatch(/expected/);
    expect(rejection("Noise_toString_25519_ChaChaPoly_SHA256")).toMatch(/pattern "toString"/);
  });
});
