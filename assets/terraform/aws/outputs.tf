# The installer's output contract (installer/provision/cloud/contract.py).

output "kubernetes_endpoint" {
  value = aws_eks_cluster.this.endpoint
}

output "kubernetes_ca_certificate" {
  value = aws_eks_cluster.this.certificate_authority[0].data
}

# A kubeconfig whose credentials come from `aws eks get-token` with the same AWS credentials.
output "kubeconfig" {
  sensitive = true
  value = jsonencode({
    apiVersion        = "v1"
    kind              = "Config"
    "current-context" = var.name
    clusters = [{
      name = var.name
      cluster = {
        server                       = aws_eks_cluster.this.endpoint
        "certificate-authority-data" = aws_eks_cluster.this.certificate_authority[0].data
      }
    }]
    contexts = [{ name = var.name, context = { cluster = var.name, user = var.name } }]
    users = [{
      name = var.name
      user = {
        exec = {
          apiVersion = "client.authentication.k8s.io/v1beta1"
          command    = "aws"
          args       = ["eks", "get-token", "--cluster-name", var.name, "--region", var.region]
        }
      }
    }]
  })
}

output "database_host" {
  value = one(aws_db_instance.main[*].address)
}

output "database_port" {
  value = one(aws_db_instance.main[*].port)
}

output "database_name" {
  value = var.create_database ? var.db_name : null
}

output "database_username" {
  value = var.create_database ? var.db_username : null
}

output "filestore_bucket" {
  value = aws_s3_bucket.filestore.bucket
}

output "volume_ids" {
  value       = {}
  description = "EBS volumes are made on demand by the CSI driver."
}

output "nodes" {
  value = []
}
