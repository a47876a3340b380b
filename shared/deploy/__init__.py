"""Deployment artefacts: Strimzi topics generated from the registry, and an offline kustomize."""
