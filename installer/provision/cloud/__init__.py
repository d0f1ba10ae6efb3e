"""Provisioning clouds (target.kind aws, azure, gcp, openstack) with Terraform.

- contract.py: what every stack takes and gives (variables, outputs), the typed outputs, and what later
  steps read of them (provisioned_database, provisioned_bucket).
- hcl.py: a careful reader of a stack's top-level blocks, for the contract check.
- inputs.py: the answers as the stack's variables and the cloud's credentials, all through the environment.
- workspace.py: Terraform's working folder in the state directory, CLI config (provider mirror), backend.
- step.py: the `provision` step: reconcile after a cut-off apply, plan, apply with per-resource progress,
  outputs, kubeconfig.
The stacks themselves are under assets/terraform/<kind>/.
"""
