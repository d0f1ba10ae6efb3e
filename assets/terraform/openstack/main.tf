# DIGIT on OpenStack (including the national cloud, NIC): a network, control-plane and worker VMs,
# Cinder data volumes attached to the workers, an object storage container for the filestore, and
# optionally an Octavia load balancer. Kubernetes is then installed on the VMs over SSH (RKE2, as
# for state data centre VMs). Credentials: OS_* in Terraform's environment. Raw resources only.

terraform {
  required_version = ">= 1.0"
  required_providers {
    openstack = {
      source  = "terraform-provider-openstack/openstack"
      version = ">= 1.48"
    }
  }
}

provider "openstack" {
  region = var.region
}

locals {
  with_router = var.external_network != ""
  ports = {
    api   = 6443
    http  = 80
    https = 443
  }
  # Data volumes go to the workers in turn.
  volume_names = sort(keys(var.volumes))
}

# --- network -----------------------------------------------------------------------------------

resource "openstack_networking_network_v2" "main" {
  name           = var.name
  admin_state_up = true
}

resource "openstack_networking_subnet_v2" "main" {
  name       = var.name
  network_id = openstack_networking_network_v2.main.id
  cidr       = var.network_cidr
  ip_version = 4
}

data "openstack_networking_network_v2" "external" {
  count = local.with_router ? 1 : 0
  name  = var.external_network
}

resource "openstack_networking_router_v2" "main" {
  count               = local.with_router ? 1 : 0
  name                = var.name
  external_network_id = data.openstack_networking_network_v2.external[0].id
}

resource "openstack_networking_router_interface_v2" "main" {
  count     = local.with_router ? 1 : 0
  router_id = openstack_networking_router_v2.main[0].id
  subnet_id = openstack_networking_subnet_v2.main.id
}

resource "openstack_networking_secgroup_v2" "nodes" {
  name        = "${var.name}-nodes"
  description = "DIGIT nodes: SSH, Kubernetes (RKE2) and ingress"
}

resource "openstack_networking_secgroup_rule_v2" "inside" {
  direction         = "ingress"
  ethertype         = "IPv4"
  remote_ip_prefix  = var.network_cidr
  security_group_id = openstack_networking_secgroup_v2.nodes.id
}

resource "openstack_networking_secgroup_rule_v2" "public" {
  for_each          = { ssh = 22, api = 6443, http = 80, https = 443 }
  direction         = "ingress"
  ethertype         = "IPv4"
  protocol          = "tcp"
  port_range_min    = each.value
  port_range_max    = each.value
  remote_ip_prefix  = "0.0.0.0/0"
  security_group_id = openstack_networking_secgroup_v2.nodes.id
}

resource "openstack_compute_keypair_v2" "nodes" {
  name       = var.name
  public_key = var.ssh_public_key
}

# --- VMs ---------------------------------------------------------------------------------------

# Each VM boots with the host key the installer made for it (its fingerprint is pinned before the VM
# exists); the image's own keys are deleted and none are generated.
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

resource "openstack_compute_instance_v2" "control_plane" {
  count           = var.control_plane_count
  name            = "${var.name}-cp-${count.index}"
  image_name      = var.image
  user_data       = local.cloud_init["${var.name}-cp-${count.index}"]
  flavor_name     = var.control_plane_flavor
  key_pair        = openstack_compute_keypair_v2.nodes.name
  security_groups = [openstack_networking_secgroup_v2.nodes.name]
  network {
    uuid = openstack_networking_network_v2.main.id
  }
  depends_on = [openstack_networking_subnet_v2.main]
}

resource "openstack_compute_instance_v2" "worker" {
  count           = var.node_count
  name            = "${var.name}-worker-${count.index}"
  image_name      = var.image
  user_data       = local.cloud_init["${var.name}-worker-${count.index}"]
  flavor_name     = var.node_instance_type
  key_pair        = openstack_compute_keypair_v2.nodes.name
  security_groups = [openstack_networking_secgroup_v2.nodes.name]
  block_device {
    uuid                  = data.openstack_images_image_v2.node.id
    source_type           = "image"
    destination_type      = "volume"
    volume_size           = var.node_disk_gb
    boot_index            = 0
    delete_on_termination = true
  }
  network {
    uuid = openstack_networking_network_v2.main.id
  }
  depends_on = [openstack_networking_subnet_v2.main]
}

data "openstack_images_image_v2" "node" {
  name        = var.image
  most_recent = true
}

# --- data volumes (Cinder) ---------------------------------------------------------------------

resource "openstack_blockstorage_volume_v3" "data" {
  for_each = var.volumes
  name     = "${var.name}-${each.key}"
  size     = each.value
}

resource "openstack_compute_volume_attach_v2" "data" {
  for_each    = var.volumes
  instance_id = openstack_compute_instance_v2.worker[index(local.volume_names, each.key) % var.node_count].id
  volume_id   = openstack_blockstorage_volume_v3.data[each.key].id
}

# --- filestore (Swift) -------------------------------------------------------------------------

resource "openstack_objectstorage_container_v1" "filestore" {
  name = var.filestore_bucket
}

# --- load balancer (optional) ------------------------------------------------------------------

resource "openstack_lb_loadbalancer_v2" "main" {
  count         = var.load_balancer ? 1 : 0
  name          = var.name
  vip_subnet_id = openstack_networking_subnet_v2.main.id
}

resource "openstack_lb_listener_v2" "main" {
  for_each        = var.load_balancer ? local.ports : {}
  name            = "${var.name}-${each.key}"
  protocol        = "TCP"
  protocol_port   = each.value
  loadbalancer_id = openstack_lb_loadbalancer_v2.main[0].id
}

resource "openstack_lb_pool_v2" "main" {
  for_each    = var.load_balancer ? local.ports : {}
  name        = "${var.name}-${each.key}"
  protocol    = "TCP"
  lb_method   = "ROUND_ROBIN"
  listener_id = openstack_lb_listener_v2.main[each.key].id
}

resource "openstack_lb_member_v2" "api" {
  count         = var.load_balancer ? var.control_plane_count : 0
  pool_id       = openstack_lb_pool_v2.main["api"].id
  address       = openstack_compute_instance_v2.control_plane[count.index].access_ip_v4
  protocol_port = 6443
  subnet_id     = openstack_networking_subnet_v2.main.id
}

resource "openstack_lb_member_v2" "http" {
  count         = var.load_balancer ? var.node_count : 0
  pool_id       = openstack_lb_pool_v2.main["http"].id
  address       = openstack_compute_instance_v2.worker[count.index].access_ip_v4
  protocol_port = 80
  subnet_id     = openstack_networking_subnet_v2.main.id
}

resource "openstack_lb_member_v2" "https" {
  count         = var.load_balancer ? var.node_count : 0
  pool_id       = openstack_lb_pool_v2.main["https"].id
  address       = openstack_compute_instance_v2.worker[count.index].access_ip_v4
  protocol_port = 443
  subnet_id     = openstack_networking_subnet_v2.main.id
}
