import type { Io } from "../../../src/cli/output.js";

/** The CLI's streams, captured. */
export function captureIo(): { io: Io; stdout: () => string; stderr: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: (s) => {
        out.push(s);
      },
      stderr: (s) => {
        err.push(s);
      },
      tty: false,
    },
    stdout: () => out.join(""),
    stderr: () => err.join(""),
  };
}
