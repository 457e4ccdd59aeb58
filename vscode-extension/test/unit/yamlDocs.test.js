// Detection of runnable Tekton / Argo documents (used by F5 without launch.json and its QuickPick).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const paths = require('../lib/paths');
const { pipelineDocuments, runnableDocuments, defaultDocument } = require('../../out/yamlDocs');

const multi = `# tasks and a pipeline in one file
apiVersion: tekton.dev/v1
kind: Task
metadata:
  name: hello
spec:
  steps:
    - name: say
      image: alpine
      script: echo hi
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-pipeline}
---
apiVersion: tekton.dev/v1beta1
kind: Pipeline
metadata:
  name: greet
spec:
  tasks:
    - name: first
      taskRef: {name: hello}
---
apiVersion: tekton.dev/v1
kind: StepAction
metadata: {name: not-runnable}
`;

test('finds Tekton documents with kind, name, line; skips other apiVersions', () => {
  const docs = pipelineDocuments(multi);
  assert.deepEqual(docs.map((d) => [d.object, d.engine, d.line, d.runnable]), [
    ['Task/hello', 'tekton', 2, true],
    ['Pipeline/greet', 'tekton', 16, true],
    ['StepAction/not-runnable', 'tekton', 25, false],
  ]);
  assert.equal(runnableDocuments(multi).length, 2);
});

test('default document: the only one; the Pipeline of a Tasks + Pipeline file; else none', () => {
  const docs = runnableDocuments(multi);
  assert.equal(defaultDocument(docs).object, 'Pipeline/greet');
  assert.equal(defaultDocument(docs.slice(0, 1)).object, 'Task/hello');
  const two = runnableDocuments(multi + '---\napiVersion: tekton.dev/v1\nkind: PipelineRun\nmetadata:\n  generateName: greet-run-\n');
  assert.equal(two[2].object, 'PipelineRun/greet-run-');
  assert.equal(defaultDocument(two), undefined);
});

test('Argo kinds, flow style, anchors, broken and empty input', () => {
  const argo = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: hello-}
spec: {entrypoint: main, templates: [{name: main, container: {image: alpine}}]}
---
apiVersion: argoproj.io/v1alpha1
kind: WorkflowTemplate
metadata: &m
  name: tmpl
spec: {templates: []}
---
apiVersion: argoproj.io/v1alpha1
kind: CronWorkflow
metadata: {name: nightly}
`;
  assert.deepEqual(runnableDocuments(argo).map((d) => d.object), ['Workflow/hello-', 'WorkflowTemplate/tmpl', 'CronWorkflow/nightly']);
  assert.deepEqual(pipelineDocuments(''), []);
  assert.deepEqual(pipelineDocuments('key: [unclosed'), []);
  assert.deepEqual(pipelineDocuments('- a\n- b\n'), []);
  assert.deepEqual(pipelineDocuments('just a string'), []);
});

test('the project fixtures are detected', () => {
  const dir = path.join(paths.tektonFixtures, 'build-pipeline');
  if (!fs.existsSync(dir)) return; // fixtures not there yet
  const pipe = runnableDocuments(fs.readFileSync(path.join(dir, 'pipeline.yaml'), 'utf8'));
  assert.deepEqual(pipe.map((d) => d.object), ['Pipeline/build-and-test']);
  const task = runnableDocuments(fs.readFileSync(path.join(dir, 'tasks', 'build.yaml'), 'utf8'));
  assert.deepEqual(task.map((d) => d.object), ['Task/build']);
});
