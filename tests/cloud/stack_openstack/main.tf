# The openstack-kind test stack: the openstack stack's variables, VM names, cloud-init host keys and output
# contract, over the stand-in cloud provider (tests/cloud/standin). Not a cloud.

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

locals {
  cloud_init = {
    for name, key in var.host_keys : name => join("\n", ["#cloud-config", jsonencode({
      ssh_deletekeys  = true
      ssh_genkeytypes = []
      ssh_keys = {
        ed25519_private = key.private_key
        ed25519_public  = key.public_key
      }
    })])
  }
}

resource "standin_network" "main" {
  name = "${var.name}-net"
  cidr = var.network_cidr
}

resource "standin_vm" "control_plane" {
  count      = var.control_plane_count
  name       = "${var.name}-cp-${count.index}"
  flavor     = var.control_plane_flavor
  network_id = standin_network.main.id
  user_data  = local.cloud_init["${var.name}-cp-${count.index}"]
}

resource "standin_vm" "worker" {
  count      = var.node_count
  name       = "${var.name}-worker-${count.index}"
  flavor     = var.node_instance_type
  network_id = standin_network.main.id
  user_data  = local.cloud_init["${var.name}-worker-${count.index}"]
}

resource "standin_volume" "data" {
  for_each = var.volumes
  name     = "${var.name}-${each.key}"
  size_gb  = each.value
}

resource "standin_bucket" "filestore" {
  name = var.filestore_bucket
}
