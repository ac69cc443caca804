import { createTransport } from "nodemailer";

/** Sends the emails of sign-in: the hub wires SMTP when SMTP_URL is set, the log otherwise. */
export interface Mailer {
  /** Sends a sign-in (or invitation) link. Rejects when the message could not be handed over. */
  sendMagicLink(to: string, url: string): Promise<void>;
}

/** The part of a pino logger the log mailer needs. */
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
 * For the embedded default without SMTP: writes the link to the hub's log, so the person who
 * runs the hub can sign in from their terminal. The link is a credential for 15 minutes, so only
 * wire this where the log is as private as the inbox would be.
 */
export function createLogMailer(log: MailLog): Mailer {
  return {
    async sendMagicLink(to, url) {
      log.info({ to, url }, "sign-in link (SMTP_URL is not set, so it is printed here instead of emailed)");
    },
  };
}
