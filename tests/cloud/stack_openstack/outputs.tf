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
  value = standin_bucket.filestore.name
}

output "volume_ids" {
  value = { for key, volume in standin_volume.data : key => volume.id }
}

output "nodes" {
  value = concat(
    [for vm in standin_vm.control_plane : { name = vm.name, address = vm.private_ip, role = "control-plane" }],
    [for vm in standin_vm.worker : { name = vm.name, address = vm.private_ip, role = "worker" }],
  )
}
