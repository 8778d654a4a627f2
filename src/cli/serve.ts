import type { Command } from 'commander';

export function addServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the mailshift server (SMTP, HTTP API, delivery engine)')
    .action(async () => {
      // Lazy imports: the other commands must not load the server and its dependencies.
      const { loadConfig, ConfigError } = await import('../config.ts');
      const { startMailshift } = await import('../main.ts');
      const { StoreInUseError } = await import('../store/database.ts');
      let app: Awaited<ReturnType<typeof startMailshift>>;
      try {
        app = await startMailshift(loadConfig(process.env));
      } catch (err) {
        // A setting or a held spool is the operator's to fix: say what, without a stack.
        if (!(err instanceof ConfigError || err instanceof StoreInUseError)) throw err;
        process.stderr.write(`error: ${err.message}\n`);
        process.exit(1);
      }
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
