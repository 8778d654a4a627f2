import { Command } from 'commander';
import { ApiClient, CliError } from './api-client.ts';
import { addCaptureCommands } from './capture.ts';
import { addCustomerCommands } from './customer.ts';
import { addInfraCommands } from './infra.ts';
import { addInstanceCommands } from './instance.ts';
import { addMessageCommands } from './message.ts';
import { addNodesCommand } from './nodes.ts';
import { addProgramCommands } from './program.ts';
import { addSimulateCommand } from './simulate.ts';
import { addQueueCommand } from './queue.ts';
import { addServeCommand } from './serve.ts';
import { addSuppressionCommands } from './suppression.ts';
import { addDomainCommands } from './domain.ts';
import { addDkimCommands } from './dkim.ts';

const program = new Command('mailshift').description('email sending infrastructure for campaign platforms').showHelpAfterError('(run with --help for usage)');

// The CLI is an entry point: it reads its environment once here and passes it down.
const api = new ApiClient(process.env);
addServeCommand(program);
addInfraCommands(program, api);
addCustomerCommands(program, api);
addInstanceCommands(program, api);
addQueueCommand(program, api);
addNodesCommand(program, api);
addCaptureCommands(program, api);
addSuppressionCommands(program, api);
addMessageCommands(program, api);
addProgramCommands(program, api);
addSimulateCommand(program);
addDomainCommands(program, api);
addDkimCommands(program, api);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (!(err instanceof CliError)) throw err;
  process.stderr.write(`error: ${err.message}\n`);
  process.exitCode = 1;
}
