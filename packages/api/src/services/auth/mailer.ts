import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { createTransport } from "nodemailer";

/** Sends the emails of sign-in: the hub wires SMTP when SMTP_URL is set, a private file otherwise. */
export interface Mailer {
  /** Sends a sign-in (or invitation) link. Rejects when the message could not be handed over. */
  sendMagicLink(to: string, url: string): Promise<void>;
}

/** The part of a pino logger the file mailer needs. */
export interface MailLog {
  info(fields: Record<string, unknown>, message: string): void;
}

const SUBJECT = "Your Private Connect sign-in link";

function describeMagicLink(url: string): string {
  return [
    "Open this link to sign in to Private Connect:",
    "",
    url,
    "",
    "It works once and expires in 15 minutes. If you did not ask to sign in, ignore this email:",
    "nobody can use the link without access to your inbox.",
  ].join("\n");
}

/**
 * Sends through the SMTP server of `smtpUrl` (for example smtps://user:pass@mail.example.com or
 * smtp://127.0.0.1:2525), from `from`. nodemailer upgrades to TLS with STARTTLS when the server
 * offers it.
 */
export function createSmtpMailer(smtpUrl: string, from: string): Mailer & { close(): void } {
  const transport = createTransport(smtpUrl);
  return {
    async sendMagicLink(to, url) {
      await transport.sendMail({ from, to, subject: SUBJECT, text: describeMagicLink(url) });
    },
    close() {
      transport.close();
    },
  };
}

/**
 * An address as a log may show it: the first character of the local part and the domain
 * (`a***@example.com`), enough for the person who asked to recognise their own request.
 */
export function maskEmailAddress(address: string): string {
  const at = address.lastIndexOf("@");
  return at <= 0 ? "***" : `${address.charAt(0)}***${address.slice(at)}`;
}

/**
 * For the embedded default without SMTP: appends each link to a file only the hub's user can
 * read (`<data>/sign-in-links.log`), so the person who runs the hub can sign in from their
 * terminal. The link is a credential for 15 minutes and logs travel further than a 0600 file
 * (collectors, tickets), so the log only says where the link went, with the address masked.
 */
export function createFileMailer(path: string, log: MailLog): Mailer {
  return {
    async sendMagicLink(to, url) {
      // O_NOFOLLOW: a symlink planted at the path must not redirect credentials elsewhere.
      const file = await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
      try {
        // The mode above applies only to a new file; an older one may have been loosened since.
        await file.chmod(0o600);
        await file.appendFile(`${new Date().toISOString()} ${to} ${url}\n`);
      } finally {
        await file.close();
      }
      log.info(
        { path },
        `sign-in link for ${maskEmailAddress(to)} written to ${path} (SMTP_URL is not set, so it is not emailed)`,
      );
    },
  };
}
