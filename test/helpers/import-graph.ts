/**
 * The import graph of a source tree, read from the files themselves: every relative import,
 * re-export and dynamic import of each `.ts` file, resolved to the file it names, and every
 * package or `node:` module it names. Used by the architecture test to check the layering
 * rules against the code as it is, not as a document says it is.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';

export interface SourceFile {
  /** Path under the source root, with `/` separators: `core/kernel/ids.ts`. */
  path: string;
  text: string;
  /** Project files it imports (paths under the root, like `path`). */
  imports: string[];
  /** Packages and built-in modules it imports: `fastify`, `node:net`. */
  packages: string[];
}

/** `import … from '…'` and `export … from '…'` starting a line, `import '…'`, and `import('…')` anywhere. */
const FROM_IMPORT = /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm;
const BARE_IMPORT = /^\s*import\s*['"]([^'"]+)['"]/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** A line that begins an import statement (not a dynamic `import(`). */
const IMPORT_LINE = /^\s*import(?=[\s{*'"])/gm;

/**
 * Every module specifier a TypeScript source names. An import statement the patterns cannot
 * read (a quote or a semicolon in a comment inside its braces, say) is an error, so that no
 * import escapes the rules unseen.
 */
export function specifiersOf(text: string): string[] {
  const found: string[] = [];
  let importStatements = 0;
  for (const pattern of [FROM_IMPORT, BARE_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of text.matchAll(pattern)) {
      found.push(match[1]!);
      if (pattern !== DYNAMIC_IMPORT && match[0].trimStart().startsWith('import')) importStatements++;
    }
  }
  const importLines = [...text.matchAll(IMPORT_LINE)].length;
  if (importLines !== importStatements) {
    throw new Error(`${importLines} import statements begin a line but ${importStatements} could be read; keep quotes and semicolons out of comments inside an import`);
  }
  return found;
}

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Reads every `.ts` file under `root`; a relative import that names no file is an error. */
export function readImportGraph(root: string): Map<string, SourceFile> {
  const files = new Map<string, SourceFile>();
  const paths = tsFiles(root).map((file) => relative(root, file).split(sep).join('/'));
  const known = new Set(paths);
  for (const path of paths) {
    const text = readFileSync(join(root, path), 'utf8');
    const imports: string[] = [];
    const packages: string[] = [];
    for (const specifier of specifiersOf(text)) {
      if (!specifier.startsWith('.')) {
        packages.push(specifier);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(path), specifier)).replace(/\.js$/, '.ts');
      if (!known.has(target)) throw new Error(`${path} imports ${specifier}, which is not a file under the root`);
      imports.push(target);
    }
    files.set(path, { path, text, imports: [...new Set(imports)], packages: [...new Set(packages)] });
  }
  return files;
}

/**
 * The circles of a directed graph: one cycle (as the list of its nodes, the first repeated at
 * the end) for each strongly connected component with more than one node or a self-edge.
 */
export function findCycles(edges: ReadonlyMap<string, Iterable<string>>): string[][] {
  const nodes = new Set<string>(edges.keys());
  for (const targets of edges.values()) for (const t of targets) nodes.add(t);
  const next = (n: string) => [...(edges.get(n) ?? [])];

  // Tarjan's algorithm, iterative so a deep graph cannot overflow the stack.
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const start of nodes) {
    if (index.has(start)) continue;
    const work: { node: string; children: string[]; i: number }[] = [];
    const visit = (node: string) => {
      index.set(node, counter);
      low.set(node, counter);
      counter++;
      stack.push(node);
      onStack.add(node);
      work.push({ node, children: next(node), i: 0 });
    };
    visit(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      if (frame.i < frame.children.length) {
        const child = frame.children[frame.i++]!;
        if (!index.has(child)) visit(child);
        else if (onStack.has(child)) low.set(frame.node, Math.min(low.get(frame.node)!, index.get(child)!));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.node, Math.min(low.get(parent.node)!, low.get(frame.node)!));
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let member: string;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        if (component.length > 1 || next(frame.node).includes(frame.node)) components.push(component);
      }
    }
  }
  return components.map((component) => cycleWithin(new Set(component), next));
}

/** One concrete circle through the members of a strongly connected component, for the message. */
function cycleWithin(members: Set<string>, next: (n: string) => string[]): string[] {
  const start = [...members].sort()[0]!;
  // Breadth-first from the start back to itself, inside the component.
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const child of next(node)) {
      if (!members.has(child)) continue;
      if (child === start) {
        const path = [start];
        for (let at = node; at !== start; at = cameFrom.get(at)!) path.unshift(at);
        path.unshift(start);
        return path;
      }
      if (!cameFrom.has(child)) {
        cameFrom.set(child, node);
        queue.push(child);
      }
    }
  }
  return [start, start];
}
