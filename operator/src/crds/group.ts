/** The API group, version and kinds dtk defines, and the label/finalizer keys derived from the group. */

/** API group of every dtk custom resource. */
export const GROUP = 'durabletask.dev';
/** The one served and stored version. */
export const VERSION = 'v1alpha1';
/** `apiVersion` of dtk objects. */
export const API_VERSION = `${GROUP}/${VERSION}`;

/** Names of one custom resource kind, as its CRD declares them. */
export interface KindNames {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  listKind: string;
}

export const TASKHUB: KindNames = {
  kind: 'TaskHub',
  plural: 'taskhubs',
  singular: 'taskhub',
  shortNames: ['th'],
  listKind: 'TaskHubList',
};

export const WORKFLOWDEPLOYMENT: KindNames = {
  kind: 'WorkflowDeployment',
  plural: 'workflowdeployments',
  singular: 'workflowdeployment',
  shortNames: ['wd'],
  listKind: 'WorkflowDeploymentList',
};

/** Labels the operator puts on what it creates. */
export const LABELS = {
  partOf: 'app.kubernetes.io/part-of',
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  hub: `${GROUP}/hub`,
  version: `${GROUP}/version`,
  workflowDeployment: `${GROUP}/workflowdeployment`,
} as const;

/** Value of `app.kubernetes.io/managed-by` on the operator's objects (also its field manager). */
export const MANAGER = 'dtk-operator';

/** Finalizer that holds a TaskHub until its database objects are dropped or released per deletionPolicy. */
export const TASKHUB_FINALIZER = `${GROUP}/taskhub-cleanup`;
