/**
 * `@switchyard/plugin-s3-storage`: a small S3 client (SigV4 through aws4fetch; streaming GET/PUT,
 * HEAD, DELETE, ListObjectsV2, multipart uploads; path-style and virtual-hosted addressing) and
 * the {@link BlobStore} the Files and Batch APIs keep files in: S3, or the gateway's own storage
 * (the zero-setup default). `@switchyard/plugin-files-batch` builds its store from its `store`
 * config through {@link createBlobStore}; other plugins may use the same pieces.
 */
export { createS3Client, checkBucketName, checkObjectKey, S3Error, type S3Client, type S3ClientOptions, type S3Credentials, type S3ObjectInfo, type S3Body, type ListObjectsOptions, type ListObjectsResult, type PutOptions } from './client.js'
export { createStorageBlobStore, checkBlobKey, toByteStream, type BlobStore, type BlobInfo, type BlobBody, type StoredBlob, type BlobListOptions, type StorageBlobStoreOptions } from './blob-store.js'
export { createS3BlobStore, type S3BlobStoreOptions } from './s3-blob-store.js'
export { createBlobStore, resolveEnvValue, BlobStoreConfigError, type BlobStoreConfig } from './options.js'
export { xmlElements, xmlText, decodeXmlText, escapeXml } from './xml.js'
