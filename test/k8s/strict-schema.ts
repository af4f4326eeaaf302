import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { Service as KnativeService } from '@kubernetes-models/knative/serving.knative.dev/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1/Ingress';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';

/** A kubernetes-models class: its static type fields and the schema check on its prototype. */
interface ModelClass {
  readonly apiVersion: string;
  readonly kind: string;
  readonly prototype: { validate(): void };
}

/**
 * Every kind the overlays may render, with the published schema it is checked against:
 * Kubernetes core (kubernetes-models), Knative Serving (@kubernetes-models/knative) and
 * Prometheus Operator (@kubernetes-models/prometheus-operator). A kind missing here fails
 * validation, so a new object cannot slip through unchecked.
 */
const MODELS: readonly ModelClass[] = [
  ConfigMap,
  ServiceAccount,
  Service,
  Deployment,
  Ingress,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  KnativeService,
  PodMonitor,
  PrometheusRule,
];

interface TrackedObject {
  /** Field path in kubectl's notation, such as spec.template.spec.containers[0]. */
  readonly path: string;
  readonly keys: readonly string[];
  readonly readKeys: Set<PropertyKey>;
  /** True when the validator listed the keys itself, as it does for maps such as labels. */
  enumerated: boolean;
}

/**
 * Copies the value with every plain object behind a Proxy that records which keys the
 * schema validator reads.
 */
function wrapForTracking(value: unknown, path: string, tracked: TrackedObject[]): unknown {
  if (Array.isArray(value)) {
    return value.map((item, index) => wrapForTracking(item, `${path}[${index}]`, tracked));
  }
  if (value === null || typeof value !== 'object') return value;

  const copy: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    copy[key] = wrapForTracking(child, path === '' ? key : `${path}.${key}`, tracked);
  }

  const entry: TrackedObject = {
    path,
    keys: Object.keys(copy),
    readKeys: new Set(),
    enumerated: false,
  };
  tracked.push(entry);

  return new Proxy(copy, {
    get(target, key, receiver) {
      entry.readKeys.add(key);
      return Reflect.get(target, key, receiver) as unknown;
    },
    has(target, key) {
      entry.readKeys.add(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      entry.readKeys.add(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      entry.enumerated = true;
      return Reflect.ownKeys(target);
    },
  });
}

/** Describes an object for messages as Kind/name. */
export function describeObject(object: unknown): string {
  const { kind, metadata } = object as { kind?: unknown; metadata?: { name?: unknown } };
  return `${String(kind)}/${String(metadata?.name)}`;
}

/**
 * Validates one object against its published JSON schema and rejects unknown fields, as
 * `kubectl apply --validate=strict` does against a live API server. Returns one message per
 * problem; an empty list means valid.
 *
 * The kubernetes-models schemas come from OpenAPI documents that do not set
 * `additionalProperties: false`, so the compiled validators accept any extra key. This
 * function closes that gap: the validators read every property that their schema
 * declares, so a key that the validator never read is one the schema does not know.
 * Objects whose keys the validator enumerates (maps such as labels, annotations or
 * ConfigMap data) accept any key, as their schema does.
 */
export function validateStrict(object: unknown): string[] {
  const { apiVersion, kind } = (object ?? {}) as { apiVersion?: unknown; kind?: unknown };
  const model = MODELS.find(
    (candidate) => candidate.apiVersion === apiVersion && candidate.kind === kind,
  );
  if (model === undefined) {
    return [
      `${describeObject(object)}: no schema for apiVersion ${String(apiVersion)} kind ${String(kind)}; add its kubernetes-models class to MODELS`,
    ];
  }

  const tracked: TrackedObject[] = [];
  const wrapped = wrapForTracking(object, '', tracked);
  const problems: string[] = [];

  try {
    model.prototype.validate.call(wrapped);
  } catch (error) {
    problems.push(`${describeObject(object)}: ${(error as Error).message}`);
  }

  const unknownFields: string[] = [];
  for (const entry of tracked) {
    if (entry.enumerated) continue;
    for (const key of entry.keys) {
      if (!entry.readKeys.has(key))
        unknownFields.push(entry.path === '' ? key : `${entry.path}.${key}`);
    }
  }

  // The validator never enters an unknown field, so everything below one is unread too;
  // only the outermost unknown field is worth a message.
  const outermost = unknownFields.filter(
    (field) =>
      !unknownFields.some(
        (other) => field.startsWith(`${other}.`) || field.startsWith(`${other}[`),
      ),
  );
  for (const field of outermost) {
    problems.push(`${describeObject(object)}: unknown field "${field}"`);
  }
  return problems;
}
