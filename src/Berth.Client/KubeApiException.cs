using Berth.Api.Models;

namespace Berth.Client;

/// <summary>A non-2xx answer from the API server, with its <c>Status</c> when the body carried one.</summary>
public sealed class KubeApiException : Exception
{
    public KubeApiException(int statusCode, Status? status, string? fallbackMessage = null)
        : base(status?.Message ?? fallbackMessage ?? $"the server answered {statusCode}")
    {
        StatusCode = statusCode;
        Status = status;
        Reason = status?.Reason ?? ReasonFor(statusCode);
    }

    public int StatusCode { get; }

    public Status? Status { get; }

    /// <summary>The Status reason (<c>NotFound</c>, <c>AlreadyExists</c>, <c>Conflict</c>, <c>Invalid</c>, <c>Expired</c>...).</summary>
    public string Reason { get; }

    // Upstream's reasonForError fallbacks (apimachinery errors.go) for bodies without a Status.
    private static string ReasonFor(int statusCode) => statusCode switch
    {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        410 => "Gone",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    };
}
