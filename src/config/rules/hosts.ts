/** Rules about the hosts of each stage: unique names, one primary per role, deploy_to. */
import path from 'node:path';
import { remotePath } from '../paths.js';
import type { Path } from '../positions.js';
import { hostsOf, stagesOf, type Rule } from './context.js';

export const uniqueHostNames: Rule = (ctx) => {
  for (const [stageName, stage] of stagesOf(ctx.raw)) {
    const first = new Map<string, Path>();
    for (const host of hostsOf(stageName, stage)) {
      if (host.name === undefined) continue;
      const path = host.details ? [...host.path, 'host'] : host.path;
      const earlier = first.get(host.name);
      if (earlier) {
        ctx.report(path, `duplicate host ${JSON.stringify(host.name)} (first at line ${ctx.at(earlier).line})`);
      } else {
        first.set(host.name, path);
      }
    }
  }
};

export const onePrimaryPerRole: Rule = (ctx) => {
  for (const [stageName, stage] of stagesOf(ctx.raw)) {
    const primaryOf = new Map<string, string>();
    for (const host of hostsOf(stageName, stage)) {
      if (!host.primary || host.name === undefined) continue;
      for (const role of host.roles) {
        const other = primaryOf.get(role);
        if (other === undefined) {
          primaryOf.set(role, host.name);
          continue;
        }
        ctx.report(
          [...host.path, 'primary'],
          `hosts ${JSON.stringify(other)} and ${JSON.stringify(host.name)} are both primary for role ` +
            `${JSON.stringify(role)}: at most one host per role may say primary: true`,
          'key',
        );
        break;
      }
    }
  }
};

const SSH_SHORTCUTS = ['user', 'port', 'identity', 'jump'] as const;

export const sshShortcutsNotTwice: Rule = (ctx) => {
  for (const [stageName, stage] of stagesOf(ctx.raw)) {
    for (const host of hostsOf(stageName, stage)) {
      for (const field of SSH_SHORTCUTS) {
        if (host.details?.[field] !== undefined && host.details.ssh?.[field] !== undefined) {
          ctx.report([...host.path, field], `set either ${field} or ssh.${field} on a host, not both`, 'key');
        }
      }
    }
  }
};

/** Every host needs a deploy_to from somewhere; on remote hosts it must be absolute. */
export const deployToEverywhere: Rule = (ctx) => {
  for (const [stageName, stage] of stagesOf(ctx.raw)) {
    const hosts = hostsOf(stageName, stage).filter((h) => h.name !== undefined);
    const inherited: [string, Path] | undefined =
      stage.deploy_to !== undefined
        ? [stage.deploy_to, ['stages', stageName, 'deploy_to']]
        : ctx.raw.deploy_to !== undefined
          ? [ctx.raw.deploy_to, ['deploy_to']]
          : undefined;
    const without = hosts.filter((h) => h.details?.deploy_to === undefined && inherited === undefined);
    if (without.length > 0 && without.length === hosts.length) {
      ctx.report(['stages', stageName], 'missing required key "deploy_to": set it at the top level, in the stage, or on every host');
    } else {
      for (const host of without) {
        ctx.report(host.path, `host ${JSON.stringify(host.name)} has no deploy_to: set it on the host, in the stage or at the top level`);
      }
    }
    for (const host of hosts) {
      const own = host.details?.deploy_to;
      const [value, path] = own !== undefined ? [own, [...host.path, 'deploy_to']] : (inherited ?? []);
      if (value === undefined || path === undefined) continue;
      const wrong = host.local ? localPathProblem(value, ctx.configDir) : remotePathProblem(value);
      if (wrong) ctx.report(path, wrong);
    }
  }
};

function remotePathProblem(value: string): string | undefined {
  if (value.startsWith('~')) return `expected an absolute path ("~" is not expanded on remote hosts), got ${JSON.stringify(value)}`;
  if (!value.startsWith('/')) return `expected an absolute path, got ${JSON.stringify(value)}`;
  return rootProblem(value, remotePath(value));
}

/** A local deploy_to is relative to the config file's directory (judged only when that is known). */
function localPathProblem(value: string, configDir: string | undefined): string | undefined {
  if (value.startsWith('~')) return undefined;
  if (!value.startsWith('/') && configDir === undefined) return undefined;
  return rootProblem(value, path.resolve(configDir ?? '/', value));
}

/** deploy_to is judged as ship will use it: normalised, so "/srv/.." is "/" too. */
function rootProblem(value: string, normal: string): string | undefined {
  if (normal !== '/') return undefined;
  return /^\/+$/.test(value) ? 'deploy_to cannot be "/"' : `deploy_to cannot be "/" (${JSON.stringify(value)} is "/" once normalised)`;
}
