import type { Command } from 'commander';
import type { HostSelection } from '../engine/index.js';

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/**
 * `--hosts a,b` and `--roles r,s`, declared here once for every command that can narrow its
 * stage to some of its hosts; commander parses them into the fields of a HostSelection.
 */
export function withHostSelection(command: Command): Command {
  return command.option('--hosts <a,b>', 'only these hosts', list).option('--roles <r,s>', 'only hosts with these roles', list);
}

/** The hosts a command's flags select, and nothing else of its flags. */
export const hostSelection = (flags: HostSelection): HostSelection => ({ hosts: flags.hosts, roles: flags.roles });
