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
