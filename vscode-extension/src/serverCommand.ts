// Decides how to start `pipeline-dap serve` (the debug adapter) or `pipeline-dap lsp` (the language
// server): both come from the same settings. No dependency on the `vscode` module (unit-tested under node).
import * as cp from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export interface ServerSettings {
  /** pipelineDap.serverCommand: argv array, or a command line string */
  serverCommand?: string | string[] | null;
  /** pipelineDap.pythonPath */
  pythonPath?: string | null;
}

export interface ServerCommand {
  command: string;
  args: string[];
  /** which setting (or PATH) it came from, for messages */
  source: 'pipelineDap.serverCommand' | 'pipelineDap.pythonPath' | 'PATH';
}

export type Resolution = { ok: true; server: ServerCommand } | { ok: false; message: string; installCommand: string };

export interface Probes {
  /** absolute path of `cmd` found on PATH, or undefined */
  which(cmd: string): string | undefined;
  isExecutable(file: string): boolean;
  /** undefined when `python -c "import dap_server"` works, else what went wrong */
  importError(python: string): string | undefined;
}

export const INSTALL_COMMAND = 'python3 -m pip install pipeline-dap';

/** Which server to start: `serve` (Debug Adapter Protocol) or `lsp` (Language Server Protocol), both on stdio. */
export type ServerRole = 'serve' | 'lsp';

const ROLE_TEXT: Record<ServerRole, { title: string; what: string }> = {
  serve: { title: 'Pipeline Debugger', what: 'the debug adapter' },
  lsp: { title: 'Pipeline Language Server', what: 'the language server' },
};

/**
 * The argv of `pipelineDap.serverCommand` (a command that starts the debug adapter) turned into the
 * command for `role`. For `lsp`, the `serve` argument and the options after it (serve's own) become
 * `lsp`: `["/v/bin/pipeline-dap", "serve", "-v"]` -> `["/v/bin/pipeline-dap", "lsp"]`; a command
 * without a `serve` argument (a wrapper that passes its arguments on) gets `lsp` appended.
 */
export function commandForRole(argv: string[], role: ServerRole): string[] {
  if (role === 'serve' || argv.length === 0) return argv;
  const at = argv.indexOf('serve', 1);
  return at < 0 ? [...argv, 'lsp'] : [...argv.slice(0, at), 'lsp'];
}

/** Splits a command line on whitespace; single or double quotes group, backslash escapes. */
export function splitCommandLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < line.length) cur += line[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      any = true;
    } else if (/\s/.test(c)) {
      if (any || cur) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
    }
  }
  if (any || cur) out.push(cur);
  return out;
}

/** Expands `~`, `${userHome}`, `${workspaceFolder}` and `${env:NAME}` in a setting value. */
export function expandVariables(value: string, workspaceFolder: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  let v = value.replace(/\$\{userHome\}/g, os.homedir()).replace(/\$\{env:([^}]+)\}/g, (_, n: string) => env[n] ?? '');
  if (workspaceFolder !== undefined) v = v.replace(/\$\{workspaceFolder\}/g, workspaceFolder);
  if (v === '~' || v.startsWith('~/')) v = path.join(os.homedir(), v.slice(1));
  return v;
}

export function resolveServerCommand(
  settings: ServerSettings,
  probes: Probes,
  expand: (s: string) => string = (s) => s,
  role: ServerRole = 'serve',
): Resolution {
  const { title, what } = ROLE_TEXT[role];
  const sc = settings.serverCommand;
  const argv = Array.isArray(sc) ? sc.filter((a) => typeof a === 'string') : typeof sc === 'string' ? splitCommandLine(sc) : [];
  if (argv.length > 0) {
    const [cmd, ...args] = commandForRole(argv, role).map(expand);
    const found = findExecutable(cmd, probes);
    if (!found) {
      return {
        ok: false,
        installCommand: INSTALL_COMMAND,
        message:
          `${title}: the setting "pipelineDap.serverCommand" starts "${cmd}", which was not found or is not executable. ` +
          `Set it to the command that runs the debug adapter on stdio, e.g. ["/path/to/venv/bin/pipeline-dap", "serve"]` +
          (role === 'lsp' ? ' (the language server runs it with "lsp" in place of "serve")' : '') +
          `, or clear it to use "pipelineDap.pythonPath" or pipeline-dap from PATH.`,
      };
    }
    return { ok: true, server: { command: found, args, source: 'pipelineDap.serverCommand' } };
  }
  const py = settings.pythonPath ? expand(settings.pythonPath.trim()) : '';
  if (py) {
    const found = findExecutable(py, probes);
    if (!found) {
      return {
        ok: false,
        installCommand: INSTALL_COMMAND,
        message:
          `${title}: the setting "pipelineDap.pythonPath" is "${py}", which was not found or is not executable. ` +
          `Point it at the Python interpreter of the environment where pipeline-dap is installed (e.g. .venv/bin/python), or clear it.`,
      };
    }
    const err = probes.importError(found);
    if (err !== undefined) {
      return {
        ok: false,
        installCommand: `${found} -m pip install pipeline-dap`,
        message:
          `${title}: pipeline-dap is not installed for "pipelineDap.pythonPath" = "${found}" (${err}). ` +
          `Install it with: ${found} -m pip install pipeline-dap (or, in a clone of the pipeline-dap repo: ${found} -m pip install -e .).`,
      };
    }
    return { ok: true, server: { command: found, args: ['-m', 'dap_server', role], source: 'pipelineDap.pythonPath' } };
  }
  const onPath = probes.which('pipeline-dap');
  if (onPath) return { ok: true, server: { command: onPath, args: [role], source: 'PATH' } };
  return {
    ok: false,
    installCommand: INSTALL_COMMAND,
    message:
      `${title}: cannot start ${what}: "pipeline-dap" is not on PATH and neither "pipelineDap.pythonPath" nor "pipelineDap.serverCommand" is set. ` +
      `Install it with: ${INSTALL_COMMAND} (or create the repo's venv: python3 -m venv .venv && .venv/bin/pip install -e .), ` +
      'then set "pipelineDap.pythonPath" to that environment\'s python (e.g. ${workspaceFolder}/.venv/bin/python).',
  };
}

function findExecutable(cmd: string, probes: Probes): string | undefined {
  if (cmd.includes('/') || cmd.includes(path.sep)) return probes.isExecutable(cmd) ? path.resolve(cmd) : undefined;
  return probes.which(cmd);
}

/** Probes that look at the real file system and run the real interpreter. */
export function realProbes(env: NodeJS.ProcessEnv = process.env): Probes {
  const isExecutable = (file: string): boolean => {
    try {
      if (!fs.statSync(file).isFile()) return false;
      fs.accessSync(file, fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  return {
    isExecutable,
    which(cmd: string) {
      for (const dir of (env.PATH ?? '').split(path.delimiter)) {
        if (!dir) continue;
        const candidate = path.join(dir, cmd);
        if (isExecutable(candidate)) return candidate;
      }
      return undefined;
    },
    importError(python: string) {
      const r = cp.spawnSync(python, ['-c', 'import dap_server'], { encoding: 'utf8', timeout: 20000, env });
      if (r.error) return r.error.message;
      if (r.status === 0) return undefined;
      const lines = (r.stderr || '').trim().split('\n');
      return lines[lines.length - 1] || `exit code ${r.status}`;
    },
  };
}
