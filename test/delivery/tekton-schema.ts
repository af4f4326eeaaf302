import { Ajv, type ValidateFunction } from 'ajv';

// Structural JSON schemas for the Tekton objects in k8s/tekton. npm has no Tekton model
// package, so these are written from the field lists of the Tekton Pipelines v1 API and
// the Triggers v1beta1 API reference. Every object rejects unknown fields, which catches
// misspelled keys; nested Kubernetes types (env, volumes, securityContext, podTemplate)
// are checked only as objects.
// NOTE: this is a subset written by hand, not the CRDs' published openAPIV3Schema. A field
// that Tekton added after v1.0 of its API fails here until it is listed.

type Schema = Record<string, unknown>;

const string: Schema = { type: 'string' };
const object: Schema = { type: 'object' };
const stringArray: Schema = { type: 'array', items: string };

function strict(properties: Record<string, Schema>, required: string[] = []): Schema {
  return { type: 'object', properties, required, additionalProperties: false };
}

function arrayOf(items: Schema): Schema {
  return { type: 'array', items };
}

const metadata = strict({
  name: string,
  generateName: string,
  namespace: string,
  labels: { type: 'object', additionalProperties: string },
  annotations: { type: 'object', additionalProperties: string },
});

const paramValue: Schema = { type: ['string', 'array', 'object'] };
const param = strict({ name: string, value: paramValue }, ['name', 'value']);
const paramSpec = strict(
  {
    name: string,
    type: { enum: ['string', 'array', 'object'] },
    description: string,
    default: paramValue,
    properties: object,
    enum: stringArray,
  },
  ['name'],
);
const workspaceDeclaration = strict(
  {
    name: string,
    description: string,
    mountPath: string,
    readOnly: { type: 'boolean' },
    optional: { type: 'boolean' },
  },
  ['name'],
);
const resultSpec = strict(
  {
    name: string,
    type: { enum: ['string', 'array', 'object'] },
    description: string,
    properties: object,
    value: paramValue,
  },
  ['name'],
);
const resources = strict({ requests: object, limits: object, claims: arrayOf(object) });

const stepFields: Record<string, Schema> = {
  name: string,
  displayName: string,
  image: string,
  command: stringArray,
  args: stringArray,
  workingDir: string,
  env: arrayOf(object),
  envFrom: arrayOf(object),
  computeResources: resources,
  volumeMounts: arrayOf(object),
  volumeDevices: arrayOf(object),
  imagePullPolicy: { enum: ['Always', 'IfNotPresent', 'Never'] },
  securityContext: object,
  script: string,
  timeout: string,
  workspaces: arrayOf(object),
  onError: { enum: ['continue', 'stopAndFail'] },
  stdoutConfig: object,
  stderrConfig: object,
  ref: object,
  params: arrayOf(param),
  results: arrayOf(resultSpec),
  when: arrayOf(object),
};
const step = strict(stepFields, ['name']);
// A stepTemplate takes every step field except the per-step name and script.
const stepTemplateFields = Object.fromEntries(
  Object.entries(stepFields).filter(([key]) => key !== 'name' && key !== 'script'),
);
const stepTemplate = strict(stepTemplateFields);

const taskSpec = strict(
  {
    description: string,
    displayName: string,
    params: arrayOf(paramSpec),
    workspaces: arrayOf(workspaceDeclaration),
    results: arrayOf(resultSpec),
    volumes: arrayOf(object),
    stepTemplate,
    steps: { type: 'array', items: step, minItems: 1 },
    sidecars: arrayOf(object),
  },
  ['steps'],
);

const taskRef = strict({
  name: string,
  kind: string,
  apiVersion: string,
  resolver: string,
  params: arrayOf(param),
});
const pipelineTask = strict(
  {
    name: string,
    displayName: string,
    description: string,
    taskRef,
    taskSpec: object,
    pipelineRef: object,
    pipelineSpec: object,
    when: arrayOf(strict({ input: string, operator: string, values: stringArray, cel: string })),
    runAfter: stringArray,
    retries: { type: 'integer' },
    params: arrayOf(param),
    matrix: object,
    workspaces: arrayOf(strict({ name: string, workspace: string, subPath: string }, ['name'])),
    timeout: string,
    onError: { enum: ['continue', 'stopAndFail'] },
  },
  ['name'],
);
const pipelineSpec = strict(
  {
    description: string,
    displayName: string,
    params: arrayOf(paramSpec),
    workspaces: arrayOf(
      strict({ name: string, description: string, optional: { type: 'boolean' } }, ['name']),
    ),
    tasks: { type: 'array', items: pipelineTask, minItems: 1 },
    finally: arrayOf(pipelineTask),
    results: arrayOf(
      strict({ name: string, type: string, description: string, value: paramValue }, [
        'name',
        'value',
      ]),
    ),
  },
  ['tasks'],
);

const workspaceBinding = strict(
  {
    name: string,
    subPath: string,
    volumeClaimTemplate: object,
    persistentVolumeClaim: object,
    emptyDir: object,
    configMap: object,
    secret: object,
    projected: object,
    csi: object,
  },
  ['name'],
);
const pipelineRunSpec = strict({
  pipelineRef: strict({ name: string, resolver: string, params: arrayOf(param) }),
  pipelineSpec,
  params: arrayOf(param),
  status: string,
  timeouts: strict({ pipeline: string, tasks: string, finally: string }),
  taskRunTemplate: strict({ podTemplate: object, serviceAccountName: string }),
  workspaces: arrayOf(workspaceBinding),
  taskRunSpecs: arrayOf(object),
});

function resource(apiVersion: string, kind: string, spec: Schema): Schema {
  return strict({ apiVersion: { const: apiVersion }, kind: { const: kind }, metadata, spec }, [
    'apiVersion',
    'kind',
    'metadata',
    'spec',
  ]);
}

const pipelineRun = resource('tekton.dev/v1', 'PipelineRun', pipelineRunSpec);

const interceptor = strict({
  name: string,
  ref: strict({ name: string, kind: string, apiVersion: string }, ['name']),
  params: arrayOf(strict({ name: string, value: {} }, ['name', 'value'])),
});
const eventListenerTrigger = strict({
  name: string,
  interceptors: arrayOf(interceptor),
  bindings: arrayOf(strict({ ref: string, kind: string, name: string, value: string })),
  template: strict({ ref: string, spec: object }),
  triggerRef: string,
  serviceAccountName: string,
});

/** Schemas keyed by `apiVersion/kind`. */
const schemas: Record<string, Schema> = {
  'tekton.dev/v1/Task': resource('tekton.dev/v1', 'Task', taskSpec),
  'tekton.dev/v1/Pipeline': resource('tekton.dev/v1', 'Pipeline', pipelineSpec),
  'tekton.dev/v1/PipelineRun': pipelineRun,
  'triggers.tekton.dev/v1beta1/TriggerBinding': resource(
    'triggers.tekton.dev/v1beta1',
    'TriggerBinding',
    strict({ params: arrayOf(param) }),
  ),
  'triggers.tekton.dev/v1beta1/TriggerTemplate': resource(
    'triggers.tekton.dev/v1beta1',
    'TriggerTemplate',
    strict(
      {
        params: arrayOf(strict({ name: string, description: string, default: string }, ['name'])),
        resourcetemplates: { type: 'array', items: pipelineRun, minItems: 1 },
      },
      ['resourcetemplates'],
    ),
  ),
  'triggers.tekton.dev/v1beta1/EventListener': resource(
    'triggers.tekton.dev/v1beta1',
    'EventListener',
    strict(
      {
        serviceAccountName: string,
        triggers: arrayOf(eventListenerTrigger),
        triggerGroups: arrayOf(object),
        namespaceSelector: object,
        labelSelector: object,
        resources: object,
        cloudEventURI: string,
      },
      ['triggers'],
    ),
  ),
};

const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>(
  Object.entries(schemas).map(([key, schema]) => [key, ajv.compile(schema)]),
);

/** Returns whether a schema exists for the object's apiVersion and kind. */
export function isTektonKind(apiVersion: string, kind: string): boolean {
  return validators.has(`${apiVersion}/${kind}`);
}

/**
 * Validates a Tekton object and returns its errors as `path: message` strings, empty
 * when it is valid. Throws for an apiVersion/kind that has no schema here.
 */
export function validateTektonObject(object: { apiVersion?: string; kind?: string }): string[] {
  const key = `${object.apiVersion}/${object.kind}`;
  const validate = validators.get(key);
  if (validate === undefined)
    throw new Error(`missing Tekton schema for ${key}: add one to tekton-schema.ts`);
  if (validate(object)) return [];
  return (validate.errors ?? []).map((error) => {
    const extra =
      'additionalProperty' in error.params ? ` (${String(error.params.additionalProperty)})` : '';
    return `${error.instancePath || '/'}: ${error.message ?? 'invalid'}${extra}`;
  });
}
