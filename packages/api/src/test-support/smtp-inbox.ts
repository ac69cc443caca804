// A real SMTP server on loopback (the smtp-server package) that keeps what it receives, so tests
// can read a sign-in link out of an actual email the way a person would.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface ReceivedMail {
  /** Envelope recipients. */
  to: string[];
  subject: string;
  /** The body with the transfer encoding undone. */
  body: string;
}

export interface SmtpInbox {
  /** smtp://127.0.0.1:<port chosen at run time> */
  url: string;
  messages: ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpInbox(): Promise<SmtpInbox> {
  const messages: ReceivedMail[] = [];
  const server = new SMTPServer({
    // Plain SMTP on loopback: no TLS certificate to fake, no login to configure.
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        messages.push(
          parseMail(
            Buffer.concat(chunks).toString("utf8"),
            session.envelope.rcptTo.map((rcpt) => rcpt.address),
          ),
        );
        // Accepting only now means the sender's sendMail resolves after the mail is stored.
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function parseMail(raw: string, to: string[]): ReceivedMail {
  const separator = raw.indexOf("\r\n\r\n");
  const head = raw.slice(0, separator).replace(/\r\n[ \t]+/g, " ");
  const rawBody = raw.slice(separator + 4);
  const header = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, "im").exec(head)?.[1]?.trim() ?? "";
  const encoding = header("Content-Transfer-Encoding").toLowerCase();
  let body = rawBody;
  if (encoding === "quoted-printable") {
    body = rawBody
      .replace(/=\r?\n/g, "")
      .replace(/=([0-9A-F]{2})/gi, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  } else if (encoding === "base64") {
    body = Buffer.from(rawBody.replace(/\s+/g, ""), "base64").toString("utf8");
  }
  return { to, subject: header("Subject"), body };
}

/** The sign-in link of a mail, as a person would copy it. */
export function findSignInLink(mail: ReceivedMail): string {
  const link = /https?:\/\/\S+\/auth\/verify\?token=[A-Za-z0-9_-]+/.exec(mail.body)?.[0];
  if (link === undefined) throw new Error(`no sign-in link in the mail: ${mail.body}`);
  return link;
}
