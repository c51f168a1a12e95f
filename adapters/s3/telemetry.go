package s3

import (
	"context"
	"errors"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// instrumentationName names the tracer of the store's spans.
const instrumentationName = "github.com/savepoint-dev/savepoint/adapters/s3"

// tracing adds a client span per S3 operation (S3.PutObject, S3.UploadPart,
// ...) to the SDK's middleware stack, retries included, with the RPC and HTTP
// attributes of OpenTelemetry's AWS SDK conventions. The object key is not an
// attribute: it holds the order's and the backup's IDs. The contrib module
// otelaws does the same, but it is deprecated and brings in the DynamoDB, SQS
// and SNS clients.
func tracing(tp trace.TracerProvider) func(*middleware.Stack) error {
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	tracer := tp.Tracer(instrumentationName)
	start := middleware.InitializeMiddlewareFunc("SavepointTracing", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
		ctx, span := tracer.Start(ctx, service+"."+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
			attribute.String("rpc.system", "aws-api"), attribute.String("rpc.service", service),
			attribute.String("rpc.method", op), attribute.String("cloud.region", awsmiddleware.GetRegion(ctx)),
		))
		defer span.End()
		out, md, err := next.HandleInitialize(ctx, in)
		if err != nil {
			span.SetAttributes(attribute.String("error.type", errorType(err)))
			span.SetStatus(codes.Error, errorType(err))
		}
		return out, md, err
	})
	status := middleware.DeserializeMiddlewareFunc("SavepointTracingStatus", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleDeserialize(ctx, in)
		if resp, ok := out.RawResponse.(*smithyhttp.Response); ok {
			trace.SpanFromContext(ctx).SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
		}
		return out, md, err
	})
	return func(stack *middleware.Stack) error {
		// After the SDK's own initialize steps, which name the operation.
		if err := stack.Initialize.Add(start, middleware.After); err != nil {
			return err
		}
		return stack.Deserialize.Add(status, middleware.Before)
	}
}

// errorType is the S3 error code of err (NoSuchKey, SlowDown, ...), or a
// class: a few values, never a message that could name a key.
func errorType(err error) string {
	var api smithy.APIError
	switch {
	case errors.As(err, &api):
		return api.ErrorCode()
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	default:
		return "_OTHER"
	}
}
