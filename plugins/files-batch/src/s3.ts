// What this package uses of @switchyard/plugin-s3-storage, in one place.
export { createBlobStore, createS3Client, resolveEnvValue, S3Error, checkBucketName, type BlobStore, type BlobInfo, type S3Client } from '@switchyard/plugin-s3-storage'
