/** The dtk custom resources: names, schemas (the single source of truth), types, generator and validation. */
export * from './group.ts';
export * from './conditions.ts';
export { parseDuration } from './duration.ts';
export { CRD_FILES, renderCrds, taskHubCrd, workflowDeploymentCrd } from './generate.ts';
export type { InstanceCounts, ObjectMeta, TaskHub, TaskHubPostgres, TaskHubSpec, TaskHubStatus } from './taskhub.ts';
export type {
  Container,
  EnvVar,
  PodTemplate,
  RampStep,
  RolloutStrategy,
  VersionState,
  VersionStatus,
  WorkflowDeployment,
  WorkflowDeploymentSpec,
  WorkflowDeploymentStatus,
} from './workflowdeployment.ts';
export { describeProblems, validateTaskHubSpec, validateWorkflowDeploymentSpec } from './validate.ts';
export type { SpecProblem } from './validate.ts';
