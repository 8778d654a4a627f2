import type { Command } from 'commander';

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the mailshift server (SMTP, HTTP API, delivery engine)')
    .action(async () => {
      // Lazy imports: the other commands must not load the server and its dependencies.
      const { loadConfig } = await import('../config.ts');
      const { startMailshift } = await import('../main.ts');
      const app = await startMailshift(loadConfig(process.env));
      let stopping = false;
      const stop = async (): Promise<void> => {
        if (stopping) return;
        stopping = true;
        await app.stop();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
    });
}
