/**
 * A small Dockerfile reader for the image tests: enough of the format to check what the images promise (pinned
 * bases, a non-root user, production dependencies only) without Docker on the machine.
 */

/** One instruction, with its continuation lines joined. */
export interface Instruction {
  /** Upper-cased keyword: FROM, RUN, COPY, USER, ... */
  keyword: string;
  /** Everything after the keyword, with `--flag=value` options removed (see `flags`). */
  args: string;
  /** `--from=deps`, `--chown=1000` and the like, by name. */
  flags: Record<string, string>;
  /** 1-based line of the keyword, for messages. */
  line: number;
}

/** One build stage: a FROM and what follows it. */
export interface Stage {
  index: number;
  /** The `AS` name, if any. */
  name?: string;
  /** The base as written after ARG substitution: an image reference or an earlier stage's name. */
  base: string;
  instructions: Instruction[];
}

/** A parsed Dockerfile. */
export interface Dockerfile {
  /** ARGs declared before the first FROM, with their defaults: these are the ones a FROM line may use. */
  globalArgs: Record<string, string>;
  stages: Stage[];
}

/** Joins continuation lines and drops comments, returning each logical line with the line it started on. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, i) => {
    const trimmed = raw.trim();
    // Comment lines are removed even inside a continued instruction, as BuildKit does.
    if (trimmed.startsWith('#') || (trimmed === '' && current === undefined)) return;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current) current.text += ` ${body.trim()}`;
    else current = { text: body.trim(), line: i + 1 };
    if (!continued) {
      if (current.text !== '') out.push(current);
      current = undefined;
    }
  });
  if (current && current.text !== '') out.push(current);
  return out;
}

/** Replaces `$VAR` and `${VAR}` with values from `vars`; unknown names become empty, as in Docker. */
export function substitute(value: string, vars: Record<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a?: string, b?: string) => {
    return vars[a ?? b ?? ''] ?? '';
  });
}

function splitFlags(rest: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let args = rest;
  for (;;) {
    const m = /^--([a-z-]+)(?:=(\S*))?\s*/.exec(args);
    if (!m) break;
    flags[m[1] ?? ''] = m[2] ?? 'true';
    args = args.slice(m[0].length);
  }
  return { flags, args };
}

/** Parses Dockerfile text into global ARGs and stages. Throws on an instruction before the first FROM. */
export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: lineText, line } of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(lineText);
    if (!m) continue;
    const keyword = (m[1] ?? '').toUpperCase();
    const { flags, args } = splitFlags(m[2] ?? '');
    if (keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args.trim());
      if (!from) throw new Error(`line ${line}: cannot read FROM ${args}`);
      const stage: Stage = { index: stages.length, base: substitute(from[1] ?? '', globalArgs), instructions: [] };
      if (from[2]) stage.name = from[2];
      stages.push(stage);
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      if (keyword !== 'ARG') throw new Error(`line ${line}: ${keyword} before the first FROM`);
      const arg = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/.exec(args.trim());
      if (arg) globalArgs[arg[1] ?? ''] = arg[2] ?? '';
      continue;
    }
    stage.instructions.push({ keyword, args, flags, line });
  }
  return { globalArgs, stages };
}

/** The last stage: what the image is. */
export function finalStage(file: Dockerfile): Stage {
  const stage = file.stages.at(-1);
  if (!stage) throw new Error('the Dockerfile has no FROM');
  return stage;
}

/** The stage an earlier-stage reference (`FROM deps`, `COPY --from=deps`) names, by name or index. */
export function stageByRef(file: Dockerfile, ref: string): Stage | undefined {
  return file.stages.find((s) => s.name === ref || String(s.index) === ref);
}

/** Values of the ENV instructions of a stage (both `K=V ...` and the old `K V` form). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    const pairs = [...ins.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("([^"]*)"|\S*)/g)];
    if (pairs.length === 0) {
      const [key, ...rest] = ins.args.trim().split(/\s+/);
      if (key) env[key] = rest.join(' ');
    }
    for (const p of pairs) env[p[1] ?? ''] = p[3] ?? p[2] ?? '';
  }
  return env;
}

/** Sources and destination of a COPY or ADD, in shell or JSON form. */
export function copyPaths(ins: Instruction): { sources: string[]; dest: string } {
  const text = ins.args.trim();
  const parts = text.startsWith('[') ? (JSON.parse(text) as string[]) : text.split(/\s+/);
  const dest = parts.at(-1);
  if (parts.length < 2 || dest === undefined) throw new Error(`line ${ins.line}: ${ins.keyword} needs a source and a destination`);
  return { sources: parts.slice(0, -1), dest };
}

/** The exec-form ENTRYPOINT of a stage, or undefined when it has none or uses the shell form. */
export function entrypoint(stage: Stage): string[] | undefined {
  const ins = stage.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  if (!ins || !ins.args.trim().startsWith('[')) return undefined;
  return JSON.parse(ins.args) as string[];
}

/** The effective WORKDIR before instruction `upTo` of a stage (absolute paths only, which is all we write). */
export function workdirAt(stage: Stage, upTo: Instruction): string {
  let dir = '/';
  for (const ins of stage.instructions) {
    if (ins === upTo) break;
    if (ins.keyword === 'WORKDIR') dir = ins.args.trim().startsWith('/') ? ins.args.trim() : `${dir}/${ins.args.trim()}`;
  }
  return dir;
}
