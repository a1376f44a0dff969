/**
 * Reviews and policies for the isolation tests and `npm run test:webhook-stress`: an ordinary
 * policy that innocent reviews pass or fail, and a hostile one that keeps its rule busy (per
 * container it sorts and joins every image: quadratic work) for Pods labelled stress=yes.
 */
export const TAG_POLICY = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'images-need-tags' },
  spec: {
    validationFailureAction: 'Enforce',
    rules: [{ name: 'tags', match: { any: [{ resources: { kinds: ['Pod'] } }] }, validate: { message: 'tag images', pattern: { spec: { containers: [{ image: '*:*' }] } } } }],
  },
};

export const HOSTILE_POLICY = {
  apiVersion: 'kyverno.io/v1',
  kind: 'ClusterPolicy',
  metadata: { name: 'hostile' },
  spec: {
    validationFailureAction: 'Enforce',
    rules: [{
      name: 'per-container',
      match: { any: [{ resources: { kinds: ['Pod'], selector: { matchLabels: { stress: 'yes' } } } }] },
      validate: {
        foreach: [{
          list: 'request.object.spec.containers',
          deny: { conditions: { any: [{ key: "{{ request.object.spec.containers[].image | sort(@) | join(',', @) | length(@) }}", operator: 'LessThan', value: 0 }] } },
        }],
      },
    }],
  },
};

function podReview(uid: string, labels: Record<string, string>, containers: Array<{ name: string; image: string }>): string {
  return JSON.stringify({
    apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview',
    request: {
      uid, operation: 'CREATE', kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'default', userInfo: {},
      object: { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${uid}`, namespace: 'default', labels }, spec: { containers } },
    },
  });
}

/** A Pod whose image is tagged (admitted) or not (denied by images-need-tags). */
export function innocentReview(uid: string, tagged: boolean): string {
  return podReview(uid, {}, [{ name: 'app', image: tagged ? 'registry.example.com/app:1.0' : 'registry.example.com/app' }]);
}

/** Minutes of work in the hostile policy without a deadline (5,000 containers). */
export function hostileReview(uid = 'hostile'): string {
  const containers = Array.from({ length: 5000 }, (_, i) => ({ name: `c${i}`, image: `registry.example.com/app${i}:1.0` }));
  return podReview(uid, { stress: 'yes' }, containers);
}
