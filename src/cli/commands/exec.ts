// Placeholder until the exec/ssh/run commands land in this session (being written now).
import { UsageError } from '../../errors.js';
const todo = (what: string) => new UsageError(`${what} is not built yet`);
export async function execCommand(_stage: string, _command: string[], _flags: object): Promise<void> {
  throw todo('ship exec');
}
export async function sshCommand(_stage: string, _host: string | undefined, _flags: object): Promise<void> {
  throw todo('ship ssh');
}
export async function runCommand(_stage: string, _task: string, _flags: object): Promise<void> {
  throw todo('ship run');
}
