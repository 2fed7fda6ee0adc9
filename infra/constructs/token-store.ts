import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ACCESS_TOKEN_PURPOSE, TOKEN_PURPOSE } from '../../lib/crypto/envelope';
import { ITEM_KINDS, TOKEN_TABLE, TOKEN_TABLE_INDEXES, type ItemKind } from '../../lib/store/table-definition';

/** Item-level DynamoDB actions a function may be granted on the token table. */
export type TableItemAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem';

/** Index-level actions; each grant names the indexes it covers. */
export type TableIndexAction = 'dynamodb:Query' | 'dynamodb:Scan';

/** What the token key may be used for; always bound to the refresh-token encryption context. */
export type TokenKeyAction = 'kms:GenerateDataKey' | 'kms:Decrypt';

/** Encryption-context purposes the key serves. */
export type KeyPurpose = typeof TOKEN_PURPOSE | typeof ACCESS_TOKEN_PURPOSE;

/** The table's index names, as the table definition spells them. */
export type IndexName = (typeof TOKEN_TABLE.indexes)[keyof typeof TOKEN_TABLE.indexes]['indexName'];

/**
 * What the account (its administrators, CloudFormation) may do with the token key: manage
 * it, never encrypt or decrypt with it. Listed one by one: no `kms:Create*`, which would
 * include kms:CreateGrant, a way to hand out decryption.
 */
const KEY_ADMIN_ACTIONS = [
  'kms:DescribeKey',
  'kms:GetKeyPolicy',
  'kms:PutKeyPolicy',
  'kms:ListKeyPolicies',
  'kms:GetKeyRotationStatus',
  'kms:EnableKeyRotation',
  'kms:DisableKeyRotation',
  'kms:ListKeyRotations',
  'kms:RotateKeyOnDemand',
  'kms:EnableKey',
  'kms:DisableKey',
  'kms:UpdateKeyDescription',
  'kms:ListResourceTags',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ListGrants',
  'kms:RevokeGrant',
  'kms:CreateAlias',
  'kms:UpdateAlias',
  'kms:DeleteAlias',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

export interface TokenStoreProps {
  /**
   * Complete ARN of an existing secret holding the `client_secret_*.json`.
   * @default - a new secret, created empty for the platform team to fill in (and retained)
   */
  readonly clientSecretArn?: string;
  /**
   * The customer-managed KMS key an imported secret is encrypted with: readers get
   * `kms:Decrypt` on it, through Secrets Manager only.
   * @default - the AWS-managed `aws/secretsmanager` key, which needs no grant
   */
  readonly clientSecretKmsKeyArn?: string;
}

/**
 * Where users' refresh tokens live: the DynamoDB table (keys, TTL and indexes from the one
 * table definition `provision:local` also uses), the customer-managed KMS key that wraps
 * the envelope data keys, and the Secrets Manager secret with the OAuth client credentials.
 *
 * Grants are narrow by construction: item actions on the table only, index actions on
 * named indexes only, key actions only under the refresh-token encryption context.
 */
export class TokenStore extends Construct {
  readonly table: dynamodb.Table;
  readonly key: kms.Key;
  readonly clientSecret: secretsmanager.ISecret;
  private readonly clientSecretKmsKeyArn: string | undefined;

  constructor(scope: Construct, id: string, props: TokenStoreProps = {}) {
    super(scope, id);

    // AWS-owned table encryption on purpose: the refresh token is already envelope-encrypted
    // under `key`, and a table CMK would force kms:Decrypt onto every function that reads.
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: TOKEN_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TOKEN_TABLE.timeToLiveAttribute,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      // The change stream connection events are derived from (before and after each write).
      stream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
    });
    for (const index of TOKEN_TABLE_INDEXES) {
      this.table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.KEYS_ONLY,
      });
    }

    this.key = new kms.Key(this, 'TokenKey', {
      description: 'Wraps the data keys that encrypt stored Google refresh tokens',
      enableKeyRotation: true,
      // Not the default `kms:*` for the account: the account administers the key, and only
      // the roles given `grantTokenKey` may use it, so an IAM policy with kms:Decrypt on "*"
      // elsewhere in the account does not reach the refresh tokens.
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AccountAdministersTheKey',
            principals: [new iam.AccountRootPrincipal()],
            actions: KEY_ADMIN_ACTIONS,
            resources: ['*'],
          }),
        ],
      }),
      // Destroying the key destroys every stored refresh token: never implicitly.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.clientSecretKmsKeyArn = props.clientSecretKmsKeyArn;
    if (props.clientSecretArn) {
      this.clientSecret = secretsmanager.Secret.fromSecretCompleteArn(this, 'ClientSecret', props.clientSecretArn);
    } else {
      const secret = new secretsmanager.Secret(this, 'ClientSecret', {
        description: 'The client_secret_*.json of the Google OAuth web client (paste the downloaded file)',
        // Google shows a client secret only once, and CloudFormation deletes a secret at once,
        // without a recovery window: `cdk destroy` must not take it. Reuse it in a new stack
        // with -c clientSecretArn=<its ARN>; delete it by hand when no stack needs it.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Created without a value: CDK would otherwise generate a random password, which is not
      // a client_secret.json. The functions fail loudly until the platform team puts the file in.
      (secret.node.defaultChild as secretsmanager.CfnSecret).addPropertyDeletionOverride('GenerateSecretString');
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is an OAuth client secret issued by the Google API Console; it can only be rotated there, by a person, not by a rotation Lambda.',
      });
      this.clientSecret = secret;
    }
  }

  /**
   * Item actions on the table itself (not its indexes), only on items of the given kinds:
   * `dynamodb:LeadingKeys` must match one of their partition-key prefixes.
   */
  grantItems(grantee: iam.IGrantable, kinds: readonly ItemKind[], ...actions: TableItemAction[]): void {
    if (kinds.length === 0) throw new Error('grantItems: name at least one item kind');
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [this.table.tableArn],
        // ForAllValues: every key the request touches must match (item actions always carry one).
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': kinds.map((kind) => `${ITEM_KINDS[kind]}*`) },
        },
      }),
    );
  }

  /** Query or Scan on the named indexes only. */
  grantIndex(grantee: iam.IGrantable, action: TableIndexAction, ...indexNames: IndexName[]): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [action],
        resources: indexNames.map((name) => `${this.table.tableArn}/index/${name}`),
      }),
    );
  }

  /**
   * Key operations, usable only with the refresh-token encryption context. The role's policy
   * grants them; the key policy admits them for this role only (matched on `aws:PrincipalArn`
   * rather than named as principal, so a just-created role needs no IAM propagation first).
   */
  grantTokenKey(grantee: iam.IGrantable, ...actions: TokenKeyAction[]): void {
    this.grantKeyForPurpose(grantee, TOKEN_PURPOSE, ...actions);
  }

  /**
   * Like `grantTokenKey`, under another encryption-context purpose: the token function's
   * cached access tokens (`google-access-token`) use the same key, bound to their own purpose,
   * so a role granted one purpose cannot decrypt the other's data keys.
   */
  grantKeyForPurpose(grantee: iam.IGrantable, purpose: KeyPurpose, ...actions: TokenKeyAction[]): void {
    const role = grantee.grantPrincipal;
    if (!iam.Role.isRole(role)) throw new Error('grantTokenKey: the grantee must act through an IAM role of this app');
    const context = { 'kms:EncryptionContext:purpose': purpose };
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.AccountRootPrincipal()],
        actions,
        resources: ['*'],
        conditions: { StringEquals: context, ArnEquals: { 'aws:PrincipalArn': role.roleArn } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources: [this.key.keyArn], conditions: { StringEquals: context } }),
    );
  }

  /**
   * GetSecretValue on the client secret (not DescribeSecret, not any other secret), and for
   * an imported secret under a customer-managed key, kms:Decrypt on that key — only when
   * Secrets Manager asks for this secret.
   */
  grantReadClientSecret(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.clientSecret.secretArn] }),
    );
    if (!this.clientSecretKmsKeyArn) return;
    // Secrets Manager calls KMS in the secret's own region.
    const region = this.clientSecret.secretArn.split(':')[3] ?? Stack.of(this).region;
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [this.clientSecretKmsKeyArn],
        conditions: {
          StringEquals: {
            'kms:ViaService': `secretsmanager.${region}.${Stack.of(this).urlSuffix}`,
            'kms:EncryptionContext:SecretARN': this.clientSecret.secretArn,
          },
        },
      }),
    );
  }
}
