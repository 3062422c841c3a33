/**
 * The `Resource: *` statements every PlatformFunction in a VPC carries in its UnscopedActions
 * policy (lib/lambda/platform-function.ts), written out by hand once for the tests that compare a
 * role's statements whole.
 */
export const UNSCOPED_VPC_FUNCTION_STATEMENTS = [
  {
    Sid: 'XRayTraceSegments',
    Effect: 'Allow',
    Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
    Resource: '*',
  },
  {
    Sid: 'VpcNetworkInterfaces',
    Effect: 'Allow',
    Action: [
      'ec2:AssignPrivateIpAddresses',
      'ec2:CreateNetworkInterface',
      'ec2:DeleteNetworkInterface',
      'ec2:DescribeNetworkInterfaces',
      'ec2:DescribeSubnets',
      'ec2:UnassignPrivateIpAddresses',
    ],
    Resource: '*',
  },
] as const;
