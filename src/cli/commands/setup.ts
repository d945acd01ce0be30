// Placeholder until init/setup/check/tasks land in this session (being written now).
import { UsageError } from '../../errors.js';
const todo = (what: string) => new UsageError(`${what} is not built yet`);
export async function initCommand(_flags: object): Promise<void> {
  throw todo('ship init');
}
export async function setupCommand(_stage: string, _flags: object): Promise<void> {
  throw todo('ship setup');
}
export async function checkCommand(_stage: string, _flags: object): Promise<void> {
  throw todo('ship check');
}
export async function tasksCommand(_stage: string | undefined, _flags: object): Promise<void> {
  throw todo('ship tasks');
}
