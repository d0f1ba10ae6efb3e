# The installer's output contract (installer/provision/cloud/contract.py). The Kubernetes outputs are
# null: Kubernetes is installed on the VMs afterwards, over SSH. No managed database on OpenStack.

output "kubernetes_endpoint" {
  value = null
}

output "kubernetes_ca_certificate" {
  value = null
}

output "kubeconfig" {
  value     = null
  sensitive = true
}

output "database_host" {
  value = null
}

output "database_port" {
  value = null
}

output "database_name" {
  value = null
}

output "database_username" {
  value = null
}

output "filestore_bucket" {
  value = openstack_objectstorage_container_v1.filestore.name
}

output "volume_ids" {
  value = { for key, volume in openstack_blockstorage_volume_v3.data : key => volume.id }
}

output "nodes" {
  value = concat(
    [for vm in openstack_compute_instance_v2.control_plane : { name = vm.name, address = vm.access_ip_v4, role = "control-plane" }],
    [for vm in openstack_compute_instance_v2.worker : { name = vm.name, address = vm.access_ip_v4, role = "worker" }],
  )
}

output "load_balancer_address" {
  value = one(openstack_lb_loadbalancer_v2.main[*].vip_address)
}
