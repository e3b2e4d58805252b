#!/usr/bin/env node
// Generates the Kubernetes model types of Berth.Api and the OpenAPI v3 components they are served
// with, from the models of the npm package @kubernetes/client-node (itself generated from the
// Kubernetes OpenAPI spec). See README.md in this folder for how to run it.
//
// Inputs:  <client-node package dir>/dist/gen/models/*.js   (attributeTypeMap: name, baseName, type, format)
//          <client-node package dir>/dist/gen/models/*.d.ts (JSDoc descriptions, `?` marks optional)
// Outputs: <out>/src/Berth.Api/Models/Generated/*.cs
//          <out>/src/Berth.Api/Serialization/Generated/KubeJsonContext.g.cs
//          <out>/src/Berth.Api/OpenApi/Generated/components.json
//
// Node 20, no npm dependencies.

import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
function arg(name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}
const pkgDir = arg('--package', '/tmp/k8sgen/package');
const outRoot = arg('--out', path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..'));
const modelsDir = path.join(pkgDir, 'dist/gen/models');
if (!fs.existsSync(modelsDir)) {
  console.error(`client-node models not found at ${modelsDir}; see tools/modelgen/README.md`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

const ROOTS = [
  'V1Namespace', 'V1NamespaceList', 'V1Pod', 'V1PodList', 'V1Service', 'V1ServiceList',
  'V1Endpoints', 'V1EndpointsList', 'CoreV1Event', 'CoreV1EventList', 'V1Node', 'V1NodeList',
  'V1ConfigMap', 'V1ConfigMapList', 'V1Secret', 'V1SecretList',
  'V1PersistentVolumeClaim', 'V1PersistentVolumeClaimList',
  'V1Deployment', 'V1DeploymentList', 'V1ReplicaSet', 'V1ReplicaSetList', 'V1Scale',
  'V1EndpointSlice', 'V1EndpointSliceList', 'V1Lease', 'V1LeaseList', 'V1Binding', 'V1Status',
  'V1DeleteOptions', 'V1Eviction', 'V1APIResourceList', 'V1APIGroupList', 'V1APIVersions',
];

// C# names where dropping the version prefix alone would clash or mislead.
const NAME_OVERRIDES = {
  DiscoveryV1EndpointPort: 'EndpointSlicePort', // CoreV1EndpointPort keeps EndpointPort (Endpoints.subsets[].ports)
};

// Upstream Go name where it differs from the C# name (OpenAPI definition names use the Go name).
const GO_NAME_OVERRIDES = {
  DiscoveryV1EndpointPort: 'EndpointPort',
};

// API group of each non-core type (client-node names say the version, not the group).
const GROUPS = {
  meta: ['V1ObjectMeta', 'V1ListMeta', 'V1LabelSelector', 'V1LabelSelectorRequirement', 'V1OwnerReference',
    'V1ManagedFieldsEntry', 'V1Status', 'V1StatusDetails', 'V1StatusCause', 'V1DeleteOptions', 'V1Preconditions',
    'V1Condition', 'V1APIResourceList', 'V1APIResource', 'V1APIGroupList', 'V1APIGroup', 'V1APIVersions',
    'V1GroupVersionForDiscovery', 'V1ServerAddressByClientCIDR'],
  apps: ['V1Deployment', 'V1DeploymentList', 'V1DeploymentSpec', 'V1DeploymentStatus', 'V1DeploymentCondition',
    'V1DeploymentStrategy', 'V1RollingUpdateDeployment', 'V1ReplicaSet', 'V1ReplicaSetList', 'V1ReplicaSetSpec',
    'V1ReplicaSetStatus', 'V1ReplicaSetCondition'],
  'discovery.k8s.io': ['V1EndpointSlice', 'V1EndpointSliceList', 'V1Endpoint', 'V1EndpointConditions',
    'V1EndpointHints', 'V1ForZone', 'DiscoveryV1EndpointPort'],
  'coordination.k8s.io': ['V1Lease', 'V1LeaseList', 'V1LeaseSpec'],
  autoscaling: ['V1Scale', 'V1ScaleSpec', 'V1ScaleStatus'],
  policy: ['V1Eviction'],
};
const DEFINITION_PREFIX = {
  '': 'io.k8s.api.core.v1',
  meta: 'io.k8s.apimachinery.pkg.apis.meta.v1',
  apps: 'io.k8s.api.apps.v1',
  'discovery.k8s.io': 'io.k8s.api.discovery.v1',
  'coordination.k8s.io': 'io.k8s.api.coordination.v1',
  autoscaling: 'io.k8s.api.autoscaling.v1',
  policy: 'io.k8s.api.policy.v1',
};

// Fields holding resource.Quantity (client-node types them string): upstream accepts a JSON
// number too (`cpu: 1`), and always writes a string. Keyed by client-node type + property.
const QUANTITY_FIELDS = {
  V1ResourceRequirements: ['limits', 'requests'],
  V1VolumeResourceRequirements: ['limits', 'requests'],
  V1NodeStatus: ['capacity', 'allocatable'],
  V1PersistentVolumeClaimStatus: ['capacity', 'allocatedResources'],
  V1ContainerStatus: ['allocatedResources'],
  V1PodSpec: ['overhead'],
  V1EmptyDirVolumeSource: ['sizeLimit'],
  V1ResourceFieldSelector: ['divisor'],
  V1ResourceQuotaSpec: ['hard'],
  V1ResourceQuotaStatus: ['hard', 'used'],
};
// Any map/string field with one of these names that is not in the table above fails generation,
// so a new Quantity field upstream cannot slip through as a plain string.
const QUANTITY_NAMES = new Set(['limits', 'requests', 'capacity', 'allocatable', 'hard', 'used',
  'allocatedResources', 'sizeLimit', 'divisor', 'overhead']);
const NOT_QUANTITY = new Set([]);

// metav1.MicroTime fields (serialised with microseconds); every other Date is metav1.Time.
const MICROTIME_FIELDS = {
  V1LeaseSpec: ['acquireTime', 'renewTime'],
  CoreV1Event: ['eventTime'],
  CoreV1EventSeries: ['lastObservedTime'],
};

// Strategic-merge-patch metadata from the upstream Go struct tags (patchStrategy, patchMergeKey)
// and list markers (+listType, +listMapKey, +mapType) of k8s.io/api v1.32.
const PATCH = {
  V1ObjectMeta: {
    finalizers: { strategy: 'merge', listType: 'set' },
    ownerReferences: { key: 'uid', strategy: 'merge', listType: 'map', mapKeys: ['uid'] },
    managedFields: { listType: 'atomic' },
  },
  V1PodSpec: {
    volumes: { key: 'name', strategy: 'merge,retainKeys', listType: 'map', mapKeys: ['name'] },
    initContainers: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    containers: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    ephemeralContainers: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    imagePullSecrets: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    hostAliases: { key: 'ip', strategy: 'merge', listType: 'map', mapKeys: ['ip'] },
    topologySpreadConstraints: { key: 'topologyKey', strategy: 'merge', listType: 'map', mapKeys: ['topologyKey', 'whenUnsatisfiable'] },
    schedulingGates: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    resourceClaims: { key: 'name', strategy: 'merge,retainKeys', listType: 'map', mapKeys: ['name'] },
    tolerations: { listType: 'atomic' },
    readinessGates: { listType: 'atomic' },
  },
  V1Container: {
    ports: { key: 'containerPort', strategy: 'merge', listType: 'map', mapKeys: ['containerPort', 'protocol'] },
    env: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    envFrom: { listType: 'atomic' },
    volumeMounts: { key: 'mountPath', strategy: 'merge', listType: 'map', mapKeys: ['mountPath'] },
    volumeDevices: { key: 'devicePath', strategy: 'merge', listType: 'map', mapKeys: ['devicePath'] },
    command: { listType: 'atomic' },
    args: { listType: 'atomic' },
    resizePolicy: { listType: 'atomic' },
  },
  V1EphemeralContainer: {
    ports: { key: 'containerPort', strategy: 'merge', listType: 'map', mapKeys: ['containerPort', 'protocol'] },
    env: { key: 'name', strategy: 'merge', listType: 'map', mapKeys: ['name'] },
    envFrom: { listType: 'atomic' },
    volumeMounts: { key: 'mountPath', strategy: 'merge', listType: 'map', mapKeys: ['mountPath'] },
    volumeDevices: { key: 'devicePath', strategy: 'merge', listType: 'map', mapKeys: ['devicePath'] },
    command: { listType: 'atomic' },
    args: { listType: 'atomic' },
    resizePolicy: { listType: 'atomic' },
  },
  V1PodStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
    podIPs: { key: 'ip', strategy: 'merge', listType: 'map', mapKeys: ['ip'] },
    hostIPs: { key: 'ip', strategy: 'merge', listType: 'atomic' },
    initContainerStatuses: { listType: 'atomic' },
    containerStatuses: { listType: 'atomic' },
    ephemeralContainerStatuses: { listType: 'atomic' },
  },
  V1ServiceSpec: {
    ports: { key: 'port', strategy: 'merge', listType: 'map', mapKeys: ['port', 'protocol'] },
    selector: { mapType: 'atomic' },
    clusterIPs: { listType: 'atomic' },
    externalIPs: { listType: 'atomic' },
    ipFamilies: { listType: 'atomic' },
    loadBalancerSourceRanges: { listType: 'atomic' },
  },
  V1ServiceStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
  },
  V1LoadBalancerStatus: { ingress: { listType: 'atomic' } },
  V1NodeSpec: {
    podCIDRs: { strategy: 'merge', listType: 'set' },
    taints: { listType: 'atomic' },
  },
  V1NodeStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
    addresses: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
  },
  V1NamespaceStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
  },
  V1PersistentVolumeClaimStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
  },
  V1DeploymentSpec: {
    strategy: { strategy: 'retainKeys' },
  },
  V1DeploymentStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
  },
  V1ReplicaSetStatus: {
    conditions: { key: 'type', strategy: 'merge', listType: 'map', mapKeys: ['type'] },
  },
  V1LabelSelector: {
    matchExpressions: { listType: 'atomic' },
  },
  V1EndpointSlice: {
    endpoints: { listType: 'atomic' },
    ports: { listType: 'atomic' },
  },
  V1Endpoint: { addresses: { listType: 'set' } },
  V1Endpoints: { subsets: { listType: 'atomic' } },
  V1EndpointSubset: {
    addresses: { listType: 'atomic' },
    notReadyAddresses: { listType: 'atomic' },
    ports: { listType: 'atomic' },
  },
};
// Types whose schema upstream marks `x-kubernetes-map-type: atomic` (struct-level marker).
const ATOMIC_STRUCTS = new Set(['V1LabelSelector', 'V1LocalObjectReference', 'V1ConfigMapKeySelector',
  'V1SecretKeySelector', 'V1ObjectFieldSelector', 'V1ResourceFieldSelector', 'V1TopologySelectorTerm',
  'V1NodeSelector', 'V1NodeSelectorTerm']);

// Field names that C# cannot use as written (a member may not share its class's name).
const PROPERTY_RENAMES = {
  'V1Status.status': 'StatusValue',
  'V1ContainerPort.containerPort': 'ContainerPortNumber',
};

// ---------------------------------------------------------------------------------------------
// Load client-node models
// ---------------------------------------------------------------------------------------------

const models = new Map(); // tsName -> { tsName, description, attrs: [{name, baseName, type, format, optional, description}] }

async function loadModel(tsName) {
  if (models.has(tsName)) return models.get(tsName);
  const jsFile = path.join(modelsDir, tsName + '.js');
  const dtsFile = path.join(modelsDir, tsName + '.d.ts');
  if (!fs.existsSync(jsFile)) throw new Error(`model ${tsName} not found in client-node`);
  const mod = await import(pathToFileURL(jsFile).href);
  const cls = mod[tsName];
  const dts = fs.readFileSync(dtsFile, 'utf8');
  const classDoc = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export declare class/.exec(dts);
  const props = new Map();
  const propRe = /(?:\/\*\*((?:(?!\*\/)[\s\S])*?)\*\/\s*)?'([^']+)'(\?)?:/g;
  const body = dts.slice(dts.indexOf('export declare class'));
  for (let m; (m = propRe.exec(body));) {
    props.set(m[2], { optional: !!m[3], description: m[1] ? docText(m[1]) : undefined });
  }
  const model = {
    tsName,
    description: classDoc ? docText(classDoc[1]) : undefined,
    attrs: cls.attributeTypeMap.map(a => {
      const p = props.get(a.baseName) ?? props.get(a.name);
      if (!p) throw new Error(`${tsName}.${a.baseName}: no declaration in .d.ts`);
      return { ...a, optional: p.optional, description: p.description };
    }),
  };
  models.set(tsName, model);
  return model;
}

function docText(raw) {
  const text = raw.split('\n').map(l => l.replace(/^\s*\* ?/, '')).join('\n').trim();
  // openapi-generator escapes quotes (\" \') and closes of comments (*_/) in JSDoc.
  return text.replace(/\*_\//g, '*/').replace(/\\(["'\\])/g, '$1');
}

// Parses a client-node type string.
function parseType(t) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(t))) return { kind: 'array', of: parseType(m[1]) };
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(t))) return { kind: 'map', of: parseType(m[1]) };
  if (['string', 'number', 'boolean', 'Date', 'any', 'IntOrString', 'V1MicroTime', 'object'].includes(t)) {
    return { kind: 'prim', name: t };
  }
  return { kind: 'model', name: t };
}

function modelRefs(pt, out) {
  if (pt.kind === 'model') out.push(pt.name);
  else if (pt.kind === 'array' || pt.kind === 'map') modelRefs(pt.of, out);
  return out;
}

// Transitive closure of the roots, in a stable order.
const order = [];
{
  const seen = new Set();
  const queue = [...ROOTS];
  while (queue.length) {
    const name = queue.shift();
    if (seen.has(name)) continue;
    if (!fs.existsSync(path.join(modelsDir, name + '.js'))) {
      console.warn(`skipping ${name}: not in client-node`);
      seen.add(name);
      continue;
    }
    seen.add(name);
    const model = await loadModel(name);
    order.push(name);
    for (const a of model.attrs) queue.push(...modelRefs(parseType(a.type), []));
  }
}
order.sort();

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

function csName(tsName) {
  if (NAME_OVERRIDES[tsName]) return NAME_OVERRIDES[tsName];
  return tsName.replace(/^(Core|Discovery|Events|Storage|Rbac|Flowcontrol|Admissionregistration|Apiextensions|Apiregistration|Authentication)?V\d+((alpha|beta)\d+)?/, '');
}
function goName(tsName) {
  return GO_NAME_OVERRIDES[tsName] ?? csName(tsName);
}
const groupOf = new Map();
for (const [group, names] of Object.entries(GROUPS)) for (const n of names) groupOf.set(n, group);
function definitionName(tsName) {
  const group = groupOf.get(tsName) ?? (tsName.startsWith('DiscoveryV1') ? 'discovery.k8s.io' : '');
  return `${DEFINITION_PREFIX[group]}.${goName(tsName)}`;
}
function apiGroup(tsName) {
  const g = groupOf.get(tsName) ?? '';
  return g === 'meta' ? '' : g;
}

{
  const byCs = new Map();
  for (const n of order) {
    const c = csName(n);
    if (byCs.has(c)) throw new Error(`C# name clash: ${n} and ${byCs.get(c)} both map to ${c}; add NAME_OVERRIDES`);
    byCs.set(c, n);
  }
}

function pascal(name) {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

function isQuantity(tsName, attr) {
  const listed = (QUANTITY_FIELDS[tsName] ?? []).includes(attr.baseName);
  const pt = parseType(attr.type);
  const stringish = (pt.kind === 'prim' && pt.name === 'string') ||
    (pt.kind === 'map' && pt.of.kind === 'prim' && pt.of.name === 'string');
  if (listed && !stringish) throw new Error(`${tsName}.${attr.baseName} is listed as a Quantity but is ${attr.type}`);
  if (!listed && stringish && QUANTITY_NAMES.has(attr.baseName) && !NOT_QUANTITY.has(`${tsName}.${attr.baseName}`)) {
    throw new Error(`${tsName}.${attr.baseName} looks like a Quantity; add it to QUANTITY_FIELDS or NOT_QUANTITY`);
  }
  return listed;
}

function isMicroTime(tsName, attr) {
  const listed = (MICROTIME_FIELDS[tsName] ?? []).includes(attr.baseName);
  const micro = attr.type === 'V1MicroTime' || attr.format === 'date-time-micro';
  if (micro && !listed) throw new Error(`${tsName}.${attr.baseName} is a MicroTime; add it to MICROTIME_FIELDS`);
  return listed;
}

// ---------------------------------------------------------------------------------------------
// C#
// ---------------------------------------------------------------------------------------------

function csType(pt, format) {
  switch (pt.kind) {
    case 'array': return `List<${csType(pt.of, format)}>`;
    case 'map': return `Dictionary<string, ${csType(pt.of, format)}>`;
    case 'model': return csName(pt.name);
    default:
      switch (pt.name) {
        case 'string': return 'string';
        case 'boolean': return 'bool';
        case 'number':
          if (format === 'int32') return 'int';
          if (format === 'int64') return 'long';
          return 'double';
        case 'Date': case 'V1MicroTime': return 'DateTimeOffset';
        case 'IntOrString': return 'IntOrString';
        case 'any': case 'object': return 'JsonElement';
      }
  }
  throw new Error(`unknown type ${JSON.stringify(pt)}`);
}

const HEADER = '// <auto-generated/>\n// Generated by tools/modelgen/generate.mjs from @kubernetes/client-node (Kubernetes OpenAPI v1.32). Do not edit.\n#nullable enable\n';

function isObjectKind(model) {
  const names = new Map(model.attrs.map(a => [a.baseName, a.type]));
  return names.get('apiVersion') === 'string' && names.get('kind') === 'string' && names.get('metadata') === 'V1ObjectMeta';
}
function listItemType(model) {
  const names = new Map(model.attrs.map(a => [a.baseName, a.type]));
  if (names.get('apiVersion') !== 'string' || names.get('kind') !== 'string' || names.get('metadata') !== 'V1ListMeta') return null;
  const items = names.get('items');
  if (!items) return null;
  const pt = parseType(items);
  if (pt.kind !== 'array' || pt.of.kind !== 'model') return null;
  return isObjectKind(models.get(pt.of.name)) ? pt.of.name : null;
}
// Top-level kinds: the roots (plus APIGroup, which upstream also serves as a kind). Other types
// with apiVersion/kind fields (ObjectReference, OwnerReference) are references, not kinds.
const KIND_TYPES = new Set([...ROOTS, 'V1APIGroup']);
function hasTypeMeta(model) {
  return KIND_TYPES.has(model.tsName);
}

// Property order: TypeMeta and metadata first (as upstream writes them), then the rest as listed.
const FIRST = ['apiVersion', 'kind', 'metadata'];
function orderedAttrs(model) {
  const first = FIRST.map(n => model.attrs.find(a => a.baseName === n)).filter(Boolean);
  return [...first, ...model.attrs.filter(a => !FIRST.includes(a.baseName))];
}

function emitClass(tsName) {
  const model = models.get(tsName);
  const name = csName(tsName);
  const ifaces = [];
  if (isObjectKind(model)) ifaces.push('IKubernetesObject');
  const item = listItemType(model);
  if (item) ifaces.push(`IKubernetesList<${csName(item)}>`);
  let s = '';
  s += `/// <summary>Kubernetes <c>${definitionName(tsName)}</c>.</summary>\n`;
  s += `public sealed partial class ${name}${ifaces.length ? ' : ' + ifaces.join(', ') : ''}\n{\n`;
  const lines = [];
  for (const a of orderedAttrs(model)) {
    const pt = parseType(a.type);
    let propName = PROPERTY_RENAMES[`${tsName}.${a.baseName}`] ?? pascal(a.name);
    if (propName === name) throw new Error(`${tsName}.${a.baseName}: property named like its class; add PROPERTY_RENAMES`);
    let attrs = `    [JsonPropertyName("${a.baseName}")]\n`;
    if (isQuantity(tsName, a)) {
      attrs += `    [JsonConverter(typeof(${pt.kind === 'map' ? 'QuantityMapConverter' : 'QuantityConverter'}))]\n`;
    } else if (pt.kind === 'prim' && (pt.name === 'Date' || pt.name === 'V1MicroTime')) {
      attrs += `    [JsonConverter(typeof(${isMicroTime(tsName, a) ? 'MicroTimeConverter' : 'TimeConverter'}))]\n`;
    } else if (pt.kind !== 'prim' && modelRefs(pt, []).length === 0 && /Date|MicroTime/.test(a.type)) {
      throw new Error(`${tsName}.${a.baseName}: collections of times are not supported (${a.type})`);
    } else {
      isMicroTime(tsName, a);
    }
    lines.push(`${attrs}    public ${csType(pt, a.format)}? ${propName} { get; set; }`);
  }
  s += lines.join('\n\n') + '\n}\n';
  const usings = [];
  if (s.includes('JsonElement')) usings.push('using System.Text.Json;');
  usings.push('using System.Text.Json.Serialization;');
  if (/Converter\)/.test(s)) usings.push('using Berth.Api.Serialization;');
  return HEADER + '\n' + usings.join('\n') + '\n\nnamespace Berth.Api.Models;\n\n' + s;
}

// ---------------------------------------------------------------------------------------------
// OpenAPI v3 components
// ---------------------------------------------------------------------------------------------

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const TIME = `${META}.Time`;
const MICROTIME = `${META}.MicroTime`;
const INTORSTRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const FIELDSV1 = `${META}.FieldsV1`;
const ref = n => ({ $ref: `#/components/schemas/${n}` });

// Upstream writes `default: {}` on struct fields that are values, not pointers, in Go; client-node
// does not say which are pointers, so required struct fields and these well-known value fields get it.
const VALUE_STRUCT_FIELDS = new Set(['metadata', 'spec', 'status', 'template', 'resources']);

function itemSchema(pt, format, ctx) {
  switch (pt.kind) {
    case 'model': return { ...ref(definitionName(pt.name)), default: {} };
    case 'array': return { type: 'array', items: itemSchema(pt.of, format, ctx) };
    case 'map': return { type: 'object', additionalProperties: itemSchema(pt.of, format, ctx) };
    default: {
      if (ctx.quantity) return ref(QUANTITY);
      const s = primSchema(pt.name, format, ctx);
      if (s.type === 'string') s.default = '';
      else if (s.type === 'integer' || s.type === 'number') s.default = 0;
      else if (s.type === 'boolean') s.default = false;
      return s;
    }
  }
}

function primSchema(name, format, ctx) {
  switch (name) {
    case 'string': return format === 'byte' ? { type: 'string', format: 'byte' } : { type: 'string' };
    case 'boolean': return { type: 'boolean' };
    case 'number':
      if (format === 'int32' || format === 'int64') return { type: 'integer', format };
      return { type: 'number', format: 'double' };
    case 'Date': case 'V1MicroTime': return ref(ctx.micro ? MICROTIME : TIME);
    case 'IntOrString': return ref(INTORSTRING);
    case 'any': case 'object': return ctx.fieldsV1 ? ref(FIELDSV1) : { type: 'object' };
  }
  throw new Error(`unknown primitive ${name}`);
}

function propertySchema(tsName, a) {
  const pt = parseType(a.type);
  const ctx = {
    quantity: isQuantity(tsName, a),
    micro: isMicroTime(tsName, a),
    fieldsV1: tsName === 'V1ManagedFieldsEntry' && a.baseName === 'fieldsV1',
  };
  let s;
  if (pt.kind === 'model') {
    s = { allOf: [ref(definitionName(pt.name))] };
    if (!a.optional || VALUE_STRUCT_FIELDS.has(a.baseName)) s.default = {};
  } else if (pt.kind === 'array') {
    s = { type: 'array', items: itemSchema(pt.of, a.format, ctx) };
  } else if (pt.kind === 'map') {
    s = { type: 'object', additionalProperties: itemSchema(pt.of, a.format, ctx) };
  } else if (ctx.quantity) {
    s = { allOf: [ref(QUANTITY)] };
  } else {
    s = primSchema(pt.name, a.format, ctx);
    if (s.$ref) s = { allOf: [s] };
    if (!a.optional && s.type === 'string') s.default = '';
  }
  if (a.description) s.description = a.description;
  const p = PATCH[tsName]?.[a.baseName];
  if (p) {
    if (p.listType) s['x-kubernetes-list-type'] = p.listType;
    if (p.mapKeys) s['x-kubernetes-list-map-keys'] = p.mapKeys;
    if (p.mapType) s['x-kubernetes-map-type'] = p.mapType;
    if (p.key) s['x-kubernetes-patch-merge-key'] = p.key;
    if (p.strategy) s['x-kubernetes-patch-strategy'] = p.strategy;
  }
  return s;
}

function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = sortKeys(v[k]);
    return o;
  }
  return v;
}

const KINDS = [];
function buildComponents() {
  const schemas = {};
  for (const tsName of order) {
    const model = models.get(tsName);
    const schema = { type: 'object' };
    if (model.description) schema.description = model.description;
    const props = {};
    for (const a of model.attrs) props[a.baseName] = propertySchema(tsName, a);
    schema.properties = props;
    const required = model.attrs.filter(a => !a.optional).map(a => a.baseName);
    if (required.length) schema.required = required;
    if (hasTypeMeta(model)) {
      schema['x-kubernetes-group-version-kind'] = [{ group: apiGroup(tsName), kind: goName(tsName), version: 'v1' }];
      KINDS.push(tsName);
    }
    if (ATOMIC_STRUCTS.has(tsName)) schema['x-kubernetes-map-type'] = 'atomic';
    schemas[definitionName(tsName)] = schema;
  }
  schemas[TIME] = {
    description: 'Time is a wrapper around time.Time which supports correct marshaling to YAML and JSON.  Wrappers are provided for many of the factory methods that the time package offers.',
    type: 'string', format: 'date-time',
  };
  schemas[MICROTIME] = {
    description: 'MicroTime is version of Time with microsecond level precision.',
    type: 'string', format: 'date-time',
  };
  schemas[INTORSTRING] = {
    description: 'IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.',
    format: 'int-or-string',
    oneOf: [{ type: 'integer' }, { type: 'string' }],
  };
  schemas[QUANTITY] = {
    description: 'Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the "" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= "+" | "-" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | "" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn\'t choose the capitalization.)\n\n<decimalExponent> ::= "e" <signedNumber> | "E" <signedNumber> ```\n\nNo matter which of the three exponent forms is used, no quantity may represent a number greater than 2^63-1 in magnitude, nor may it have more than 3 decimal places. Numbers larger or more precise will be capped or rounded up. (E.g.: 0.1m will rounded up to 1m.) This may be extended in the future if we require larger or smaller quantities.\n\nWhen a Quantity is parsed from a string, it will remember the type of suffix it had, and will use the same type again when it is serialized.',
    oneOf: [{ type: 'string' }, { type: 'number' }],
  };
  schemas[FIELDSV1] = {
    description: "FieldsV1 stores a set of fields in a data structure like a Trie, in JSON format.\n\nEach key is either a '.' representing the field itself, and will always map to an empty set, or a string representing a sub-field or item. The string will follow one of these four formats: 'f:<name>', where <name> is the name of a field in a struct, or key in a map 'v:<value>', where <value> is the exact json formatted value of a list item 'i:<index>', where <index> is position of a item in a list 'k:<keys>', where <keys> is a map of  a list item's key fields to their unique values If a key maps to an empty Fields value, the field that key represents is part of the set.\n\nThe exact format is defined in sigs.k8s.io/structured-merge-diff",
    type: 'object',
  };
  return sortKeys({ schemas });
}

// ---------------------------------------------------------------------------------------------
// Write
// ---------------------------------------------------------------------------------------------

const modelOut = path.join(outRoot, 'src/Berth.Api/Models/Generated');
const serOut = path.join(outRoot, 'src/Berth.Api/Serialization/Generated');
const apiOut = path.join(outRoot, 'src/Berth.Api/OpenApi/Generated');
for (const d of [modelOut, serOut, apiOut]) {
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
}

const components = buildComponents();
fs.writeFileSync(path.join(apiOut, 'components.json'), JSON.stringify(components, null, 1) + '\n');

for (const tsName of order) fs.writeFileSync(path.join(modelOut, csName(tsName) + '.cs'), emitClass(tsName));

// The source-generated serializer context lists every model; collection types it needs are
// discovered from the properties.
{
  let s = HEADER + '\nusing System.Text.Json.Serialization;\nusing Berth.Api.Models;\n\nnamespace Berth.Api.Serialization;\n\n';
  for (const tsName of order) s += `[JsonSerializable(typeof(${csName(tsName)}))]\n`;
  s += 'public sealed partial class KubeJsonContext\n{\n}\n';
  fs.writeFileSync(path.join(serOut, 'KubeJsonContext.g.cs'), s);
}

// Kind table: every type with TypeMeta, its group/version/kind and OpenAPI definition name.
{
  let s = HEADER + '\nnamespace Berth.Api.Models;\n\npublic static partial class KubeKinds\n{\n';
  s += '    private static partial KindInfo[] CreateAll() =>\n    [\n';
  for (const tsName of KINDS) {
    const model = models.get(tsName);
    const flags = isObjectKind(model) ? 'KindShape.Object' : listItemType(model) ? 'KindShape.List' : 'KindShape.Other';
    s += `        new(typeof(${csName(tsName)}), "${apiGroup(tsName)}", "v1", "${goName(tsName)}", "${definitionName(tsName)}", ${flags}),\n`;
  }
  s += '    ];\n\n';
  s += '    private static partial Dictionary<Type, string> CreateDefinitionNames() => new()\n    {\n';
  for (const tsName of order) s += `        [typeof(${csName(tsName)})] = "${definitionName(tsName)}",\n`;
  s += '    };\n}\n';
  fs.writeFileSync(path.join(modelOut, 'KubeKinds.g.cs'), s);
}

console.log(`generated ${order.length} types (${KINDS.length} kinds) into ${outRoot}`);
for (const tsName of order) {
  if (csName(tsName) !== tsName.replace(/^V1/, '')) console.log(`  renamed ${tsName} -> ${csName(tsName)}`);
}
