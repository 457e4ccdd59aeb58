// Finds the Tekton / Argo documents of a YAML file that pipeline-dap can run.
// No dependency on the `vscode` module, so the unit tests can load it under plain node.
import { LineCounter, parseAllDocuments } from 'yaml';

export type Engine = 'tekton' | 'argo';

export interface PipelineDocument {
  engine: Engine;
  apiVersion: string;
  kind: string;
  /** metadata.name, else metadata.generateName, else '' */
  name: string;
  /** `Kind/name`, the value of the launch configuration's `object` key */
  object: string;
  /** 1-based line where the document's content starts */
  line: number;
  /** one of the kinds the server can launch */
  runnable: boolean;
}

/** Kinds pipeline-dap can launch (dap-mapping.md, "Supported documents"). */
export const RUNNABLE_KINDS: Record<Engine, readonly string[]> = {
  tekton: ['Task', 'Pipeline', 'TaskRun', 'PipelineRun'],
  argo: ['Workflow', 'WorkflowTemplate', 'ClusterWorkflowTemplate', 'CronWorkflow'],
};

export function engineOf(apiVersion: unknown): Engine | undefined {
  if (typeof apiVersion !== 'string') return undefined;
  if (apiVersion.startsWith('tekton.dev/')) return 'tekton';
  if (apiVersion.startsWith('argoproj.io/')) return 'argo';
  return undefined;
}

/** Every Tekton or Argo document of `text`, runnable or not, in file order. Tolerates broken YAML. */
export function pipelineDocuments(text: string): PipelineDocument[] {
  const lineCounter = new LineCounter();
  let docs;
  try {
    docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false });
  } catch {
    return [];
  }
  if (!Array.isArray(docs)) return []; // EmptyStream
  const found: PipelineDocument[] = [];
  for (const doc of docs) {
    let apiVersion: unknown, kind: unknown, name: unknown, generateName: unknown;
    try {
      apiVersion = doc.get('apiVersion');
      kind = doc.get('kind');
      name = doc.getIn(['metadata', 'name']);
      generateName = doc.getIn(['metadata', 'generateName']);
    } catch {
      continue; // contents is a scalar or a sequence
    }
    const engine = engineOf(apiVersion);
    if (!engine || typeof kind !== 'string') continue;
    const n = typeof name === 'string' ? name : typeof generateName === 'string' ? generateName : '';
    const offset = doc.contents?.range?.[0] ?? doc.range[0];
    found.push({
      engine,
      apiVersion: apiVersion as string,
      kind,
      name: n,
      object: `${kind}/${n}`,
      line: lineCounter.linePos(offset).line,
      runnable: RUNNABLE_KINDS[engine].includes(kind),
    });
  }
  return found;
}

export function runnableDocuments(text: string): PipelineDocument[] {
  return pipelineDocuments(text).filter((d) => d.runnable);
}

/**
 * The document the server runs when `object` is not given (dap-mapping.md): the only runnable one;
 * in a Tasks + Pipeline file, the Pipeline. undefined when that rule does not decide.
 */
export function defaultDocument(runnable: PipelineDocument[]): PipelineDocument | undefined {
  if (runnable.length === 1) return runnable[0];
  const pipelines = runnable.filter((d) => d.kind === 'Pipeline');
  const others = runnable.filter((d) => d.kind !== 'Pipeline');
  if (pipelines.length === 1 && others.every((d) => d.kind === 'Task')) return pipelines[0];
  return undefined;
}
