variable "standin_dir" {
  type        = string
  description = "Folder holding the stand-in cloud's objects (target.terraform.variables)."
}

variable "name" {
  type        = string
  description = "The installation's name; names every resource."
}

variable "region" {
  type = string
}

variable "kubernetes_version" {
  type = string
}

variable "node_count" {
  type = number
}

variable "node_instance_type" {
  type = string
}

variable "node_disk_gb" {
  type = number
}

variable "create_database" {
  type = bool
}

variable "db_name" {
  type = string
}

variable "db_username" {
  type = string
}

variable "db_password" {
  type      = string
  sensitive = true
}

variable "db_version" {
  type = string
}

variable "db_instance_class" {
  type = string
}

variable "db_storage_gb" {
  type = number
}

variable "filestore_bucket" {
  type = string
}

variable "volumes" {
  type        = map(number)
  description = "Data volumes to create: name -> size in GB."
}

variable "image" {
  type = string
}

variable "control_plane_count" {
  type = number
}

variable "control_plane_flavor" {
  type = string
}

variable "external_network" {
  type = string
}

variable "network_cidr" {
  type = string
}

variable "load_balancer" {
  type = bool
}

variable "ssh_public_key" {
  type = string
}

variable "host_keys" {
  type = map(object({
    private_key = string
    public_key  = string
  }))
  sensitive = true
}
