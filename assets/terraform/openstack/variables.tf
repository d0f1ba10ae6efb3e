# The installer's variables: every stack declares all of them (installer/provision/cloud/contract.py).
# The installer fills them from the answers, through TF_VAR_* in Terraform's environment.

variable "name" {
  type        = string
  description = "The installation's name (answers name); names every resource."
}

variable "region" {
  type        = string
  description = "Region (Azure: location)."
}

variable "kubernetes_version" {
  type        = string
  description = "Kubernetes minor version, e.g. 1.34."
}

variable "node_count" {
  type        = number
  description = "Worker nodes, from the sizing profile."
}

variable "node_instance_type" {
  type        = string
  description = "Worker instance type, chosen from the sizing profile (or target.terraform.instance_type)."
}

variable "node_disk_gb" {
  type        = number
  description = "Worker root disk in GB."
}

variable "create_database" {
  type        = bool
  description = "True when database.mode is managed."
}

variable "db_name" {
  type = string
}

variable "db_username" {
  type = string
}

variable "db_password" {
  type        = string
  sensitive   = true
  description = "The managed database's master password (never on disk outside the state)."
}

variable "db_version" {
  type        = string
  description = "PostgreSQL major version."
}

variable "db_instance_class" {
  type = string
}

variable "db_storage_gb" {
  type = number
}

variable "filestore_bucket" {
  type        = string
  description = "Name of the filestore bucket / container."
}

variable "volumes" {
  type        = map(number)
  description = "Data volumes of the sizing profile: name -> GB. Managed clusters create them on demand (CSI)."
}

variable "image" {
  type        = string
  description = "Glance image of every VM."
}

variable "control_plane_count" {
  type = number
}

variable "control_plane_flavor" {
  type = string
}

variable "external_network" {
  type        = string
  description = "External network for the router and floating IPs; empty on a private cloud."
}

variable "network_cidr" {
  type = string
}

variable "load_balancer" {
  type        = bool
  description = "Create an Octavia load balancer in front of 6443, 80 and 443."
}

variable "ssh_public_key" {
  type        = string
  description = "Public key put on every VM."
}

variable "host_keys" {
  type = map(object({
    private_key = string
    public_key  = string
  }))
  sensitive   = true
  description = "Each VM's SSH host key pair by VM name, made by the installer so the fingerprints are pinned before the VMs exist (cloud-init ssh_keys)."
}
