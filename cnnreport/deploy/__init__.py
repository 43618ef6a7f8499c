"""Deployment: the serving artifact (SavedModel + the container's handlers), the local endpoint
that behaves like SageMaker's TensorFlow Serving container, the endpoint test, and the AWS
endpoints and training jobs.
"""
