/** Small policies and resources shared by the client tests. */
export const REQUIRE_TEAM = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
spec:
  rules:
    - name: check-team
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        failureAction: Enforce
        message: "label team is required"
        pattern:
          metadata:
            labels:
              team: "?*"
    - name: check-image
      match:
        any:
          - resources:
              kinds: [Pod]
      validate:
        message: "images must come from registry.example.com"
        pattern:
          spec:
            containers:
              - image: "registry.example.com/*"
`;

export const ADD_ENV = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: add-env
spec:
  rules:
    - name: add-env-label
      match:
        any:
          - resources:
              kinds: [Pod]
      mutate:
        patchStrategicMerge:
          metadata:
            labels:
              +(env): dev
`;

export const PODS = `apiVersion: v1
kind: Pod
metadata:
  name: good
  labels:
    team: a
spec:
  containers:
    - name: c
      image: registry.example.com/app:1
---
apiVersion: v1
kind: Pod
metadata:
  name: bad
  labels:
    app: x
spec:
  containers:
    - name: c
      image: docker.io/nginx:latest
`;
