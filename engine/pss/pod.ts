/**
 * The typed pod the Pod Security checks read. Kyverno unmarshals the resource into
 * corev1 structs before checking, so a field of the wrong JSON type is a decode error
 * (the rule errors) rather than a silently ignored value; absent and null fields are Go's
 * nil/zero values. Only the fields the checks read are decoded.
 */
import type { JsonObject } from '../core/types';

export interface SELinuxOptions {
  user: string;
  role: string;
  type: string;
}

export interface Probe {
  httpGetHost?: string;
  tcpSocketHost?: string;
}

export interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  procMount?: string;
  capabilities?: { add: string[]; drop: string[] };
  seLinuxOptions?: SELinuxOptions;
  hostProcess?: boolean;
  seccompType?: string;
  seccompSet: boolean;
  appArmorType?: string;
  appArmorSet: boolean;
}

export interface Container {
  name: string;
  image: string;
  securityContext?: SecurityContext;
  hostPorts: number[];
  probes: Array<Probe | undefined>;
  lifecycle: Array<Probe | undefined>;
}

export interface PodSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seLinuxOptions?: SELinuxOptions;
  hostProcess?: boolean;
  seccompType?: string;
  seccompSet: boolean;
  appArmorType?: string;
  appArmorSet: boolean;
  sysctls: string[];
}

export interface Volume {
  name: string;
  /** The volume source keys set (non-null), in VolumeSource field order. */
  sources: string[];
  hostPath?: string;
}

export interface Pod {
  name: string;
  namespace: string;
  annotations: Record<string, string>;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  hostUsers?: boolean;
  osName: string;
  securityContext?: PodSecurityContext;
  volumes: Volume[];
  initContainers: Container[];
  containers: Container[];
  ephemeralContainers: Container[];
}

export class PodDecodeError extends Error {}

/** VolumeSource fields in the order corev1 declares them (the restricted check's switch order). */
export const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
];

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/** Reads JSON the way encoding/json fills a struct, with its error text on a type mismatch. */
class Reader {
  constructor(private readonly struct: string, private readonly path: string, private readonly value: unknown) {}

  /** `owner` is the Go struct holding the part at `path`, `struct` the part's own type. */
  static root(owner: string, path: string, struct: string, value: unknown): Reader | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new PodDecodeError(`json: cannot unmarshal ${jsonType(value)} into Go struct field ${owner}.${path} of type v1.${struct}`);
    }
    return new Reader(struct, path, value);
  }

  private raw(key: string): unknown {
    const v = (this.value as JsonObject)[key];
    return v === null ? undefined : v;
  }

  private fail(key: string, v: unknown, goType: string): never {
    const where = this.path ? `${this.path}.${key}` : key;
    throw new PodDecodeError(`json: cannot unmarshal ${jsonType(v)} into Go struct field ${this.struct}.${where} of type ${goType}`);
  }

  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') this.fail(key, v, 'bool');
    return v;
  }

  str(key: string): string | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.fail(key, v, 'string');
    return v;
  }

  int(key: string, goType: 'int32' | 'int64'): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(key, v, goType);
    const limit = goType === 'int32' ? 2 ** 31 : 2 ** 63;
    if (v >= limit || v < -limit) this.fail(key, v, goType);
    return v;
  }

  child(key: string, struct: string): Reader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, v, `v1.${struct}`);
    return new Reader(struct, this.path ? `${this.path}.${key}` : key, v);
  }

  list(key: string, struct: string): Reader[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, v, `[]v1.${struct}`);
    const path = this.path ? `${this.path}.${key}` : key;
    return v.map((item) => {
      if (item === null) return new Reader(struct, path, {});
      if (typeof item !== 'object' || Array.isArray(item)) this.fail(key, item, `v1.${struct}`);
      return new Reader(struct, path, item);
    });
  }

  strings(key: string): string[] {
    const v = this.raw(key);
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.fail(key, v, '[]string');
    return v.map((item) => {
      if (item === null) return '';
      if (typeof item !== 'string') this.fail(key, item, 'string');
      return item;
    });
  }

  stringMap(key: string): Record<string, string> {
    const v = this.raw(key);
    if (v === undefined) return {};
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, v, 'map[string]string');
    const out: Record<string, string> = {};
    for (const [k, item] of Object.entries(v as JsonObject)) {
      if (item === null) out[k] = '';
      else if (typeof item !== 'string') this.fail(key, item, 'string');
      else out[k] = item;
    }
    return out;
  }
}

function seLinux(r: Reader | undefined): SELinuxOptions | undefined {
  if (!r) return undefined;
  return { user: r.str('user') ?? '', role: r.str('role') ?? '', type: r.str('type') ?? '' };
}

function handler(r: Reader | undefined): Probe | undefined {
  if (!r) return undefined;
  const http = r.child('httpGet', 'HTTPGetAction');
  const tcp = r.child('tcpSocket', 'TCPSocketAction');
  return { httpGetHost: http?.str('host'), tcpSocketHost: tcp?.str('host') };
}

function securityContext(r: Reader | undefined): SecurityContext | undefined {
  if (!r) return undefined;
  const caps = r.child('capabilities', 'Capabilities');
  const seccomp = r.child('seccompProfile', 'SeccompProfile');
  const appArmor = r.child('appArmorProfile', 'AppArmorProfile');
  return {
    privileged: r.bool('privileged'),
    allowPrivilegeEscalation: r.bool('allowPrivilegeEscalation'),
    runAsNonRoot: r.bool('runAsNonRoot'),
    runAsUser: r.int('runAsUser', 'int64'),
    procMount: r.str('procMount'),
    capabilities: caps ? { add: caps.strings('add'), drop: caps.strings('drop') } : undefined,
    seLinuxOptions: seLinux(r.child('seLinuxOptions', 'SELinuxOptions')),
    hostProcess: r.child('windowsOptions', 'WindowsSecurityContextOptions')?.bool('hostProcess'),
    seccompType: seccomp ? seccomp.str('type') ?? '' : undefined,
    seccompSet: !!seccomp,
    appArmorType: appArmor ? appArmor.str('type') ?? '' : undefined,
    appArmorSet: !!appArmor,
  };
}

function container(r: Reader): Container {
  const lifecycle = r.child('lifecycle', 'Lifecycle');
  return {
    name: r.str('name') ?? '',
    image: r.str('image') ?? '',
    securityContext: securityContext(r.child('securityContext', 'SecurityContext')),
    hostPorts: r.list('ports', 'ContainerPort').map((p) => p.int('hostPort', 'int32') ?? 0),
    probes: ['livenessProbe', 'readinessProbe', 'startupProbe'].map((k) => handler(r.child(k, 'Probe'))),
    lifecycle: ['postStart', 'preStop'].map((k) => handler(lifecycle?.child(k, 'LifecycleHandler'))),
  };
}

function podSecurityContext(r: Reader | undefined): PodSecurityContext | undefined {
  if (!r) return undefined;
  const seccomp = r.child('seccompProfile', 'SeccompProfile');
  const appArmor = r.child('appArmorProfile', 'AppArmorProfile');
  return {
    runAsNonRoot: r.bool('runAsNonRoot'),
    runAsUser: r.int('runAsUser', 'int64'),
    seLinuxOptions: seLinux(r.child('seLinuxOptions', 'SELinuxOptions')),
    hostProcess: r.child('windowsOptions', 'WindowsSecurityContextOptions')?.bool('hostProcess'),
    seccompType: seccomp ? seccomp.str('type') ?? '' : undefined,
    seccompSet: !!seccomp,
    appArmorType: appArmor ? appArmor.str('type') ?? '' : undefined,
    appArmorSet: !!appArmor,
    sysctls: r.list('sysctls', 'Sysctl').map((s) => s.str('name') ?? ''),
  };
}

/**
 * Decodes pod metadata and spec (already taken out of the Pod, controller template or
 * CronJob). `owner` names the Go struct holding them and `specPath`/`metadataPath` where
 * they are, for the error messages.
 */
export function decodePod(metadata: unknown, spec: unknown, owner: string, specPath: string, metadataPath = 'metadata'): Pod {
  const meta = Reader.root(owner, metadataPath, 'ObjectMeta', metadata);
  const s = Reader.root(owner, specPath, 'PodSpec', spec);
  return {
    name: meta?.str('name') ?? '',
    namespace: meta?.str('namespace') ?? '',
    annotations: meta?.stringMap('annotations') ?? {},
    hostNetwork: s?.bool('hostNetwork') ?? false,
    hostPID: s?.bool('hostPID') ?? false,
    hostIPC: s?.bool('hostIPC') ?? false,
    hostUsers: s?.bool('hostUsers'),
    osName: s?.child('os', 'PodOS')?.str('name') ?? '',
    securityContext: podSecurityContext(s?.child('securityContext', 'PodSecurityContext')),
    volumes: (s?.list('volumes', 'Volume') ?? []).map((v) => ({
      name: v.str('name') ?? '',
      sources: VOLUME_SOURCES.filter((k) => v.child(k, k) !== undefined),
      hostPath: v.child('hostPath', 'HostPathVolumeSource')?.str('path') ?? undefined,
    })),
    initContainers: (s?.list('initContainers', 'Container') ?? []).map(container),
    containers: (s?.list('containers', 'Container') ?? []).map(container),
    ephemeralContainers: (s?.list('ephemeralContainers', 'EphemeralContainer') ?? []).map(container),
  };
}
