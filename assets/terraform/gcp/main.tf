# DIGIT on GCP: a VPC, GKE with one node pool, Cloud SQL for PostgreSQL (private IP) and a filestore bucket.
# Raw resources only (no registry modules). Credentials: GOOGLE_CREDENTIALS in Terraform's environment.

terraform {
  required_version = ">= 1.0"
  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 4.0"
    }
  }
}

provider "google" {
  project = var.project
  region  = var.region
}

resource "google_compute_network" "main" {
  name                    = var.name
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "nodes" {
  name          = "${var.name}-nodes"
  network       = google_compute_network.main.id
  region        = var.region
  ip_cidr_range = "10.60.0.0/20"
  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = "10.64.0.0/14"
  }
  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = "10.68.0.0/20"
  }
}

# --- GKE ---------------------------------------------------------------------------------------

resource "google_container_cluster" "main" {
  name                     = var.name
  location                 = var.region
  network                  = google_compute_network.main.id
  subnetwork               = google_compute_subnetwork.nodes.id
  min_master_version       = var.kubernetes_version
  remove_default_node_pool = true
  initial_node_count       = 1
  deletion_protection      = true
  networking_mode          = "VPC_NATIVE"
  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }
  resource_labels = {
    digit-installer-install = var.name
  }
}

resource "google_container_node_pool" "workers" {
  name       = "${var.name}-workers"
  cluster    = google_container_cluster.main.id
  location   = var.region
  node_count = var.node_count
  node_config {
    machine_type = var.node_instance_type
    disk_size_gb = var.node_disk_gb
    oauth_scopes = ["https://www.googleapis.com/auth/cloud-platform"]
  }
}

# --- Cloud SQL (private IP) ----------------------------------------------------------------------

resource "google_compute_global_address" "services" {
  count         = var.create_database ? 1 : 0
  name          = "${var.name}-services"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = 20
  network       = google_compute_network.main.id
}

resource "google_service_networking_connection" "services" {
  count                   = var.create_database ? 1 : 0
  network                 = google_compute_network.main.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.services[0].name]
}

resource "google_sql_database_instance" "main" {
  count               = var.create_database ? 1 : 0
  name                = "${var.name}-db"
  region              = var.region
  database_version    = "POSTGRES_${var.db_version}"
  deletion_protection = true
  settings {
    tier      = var.db_instance_class
    disk_size = var.db_storage_gb
    ip_configuration {
      ipv4_enabled    = false
      private_network = google_compute_network.main.id
    }
    backup_configuration {
      enabled = true
    }
  }
  depends_on = [google_service_networking_connection.services]
}

resource "google_sql_database" "main" {
  count    = var.create_database ? 1 : 0
  name     = var.db_name
  instance = google_sql_database_instance.main[0].name
}

resource "google_sql_user" "main" {
  count    = var.create_database ? 1 : 0
  name     = var.db_username
  instance = google_sql_database_instance.main[0].name
  password = var.db_password
}

# --- filestore ---------------------------------------------------------------------------------

resource "google_storage_bucket" "filestore" {
  name                        = var.filestore_bucket
  location                    = var.region
  uniform_bucket_level_access = true
  versioning {
    enabled = true
  }
}
