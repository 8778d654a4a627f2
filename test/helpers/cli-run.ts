import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/mailshift.js', import.meta.url));

/** Runs the real CLI in a child process against a running mailshift at `url`. */
export function runCli(url: string, token: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MAILSHIFT_')));
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...inherited, MAILSHIFT_URL: url, MAILSHIFT_ADMIN_TOKEN: token } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
