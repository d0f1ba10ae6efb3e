# The test stack: the same variables and output contract as the cloud stacks under
# assets/terraform/, over the stand-in cloud provider (tests/cloud/standin). Not a cloud.

terraform {
  required_providers {
    standin = {
      source  = "registry.digit.test/digit/standin"
      version = "0.1.0"
    }
  }
}

provider "standin" {
  directory = var.standin_dir
}

resource "standin_network" "main" {
  name = "${var.name}-net"
  cidr = "10.20.0.0/16"
}

resource "standin_cluster" "main" {
  name       = var.name
  version    = var.kubernetes_version
  node_count = var.node_count
  network_id = standin_network.main.id
}

resource "standin_database" "main" {
  count          = var.create_database ? 1 : 0
  name           = "${var.name}-db"
  db_name        = var.db_name
  username       = var.db_username
  password       = var.db_password
  engine_version = var.db_version
  instance_class = var.db_instance_class
}

resource "standin_bucket" "filestore" {
  name = var.filestore_bucket
}

resource "standin_volume" "data" {
  for_each = var.volumes
  name     = "${var.name}-${each.key}"
  size_gb  = each.value
}
