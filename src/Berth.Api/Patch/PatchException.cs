namespace Berth.Api.Patch;

/// <summary>
/// A patch that cannot be applied to the document. <see cref="StatusCode"/> is the HTTP status the
/// upstream API server answers for the same failure, so the server can map it without string matching.
/// </summary>
public sealed class PatchException : Exception
{
    public PatchException()
        : this("invalid patch", 422)
    {
    }

    public PatchException(string message)
        : this(message, 422)
    {
    }

    public PatchException(string message, Exception innerException)
        : base(message, innerException)
    {
        StatusCode = 422;
    }

    public PatchException(string message, int statusCode)
        : base(message)
    {
        StatusCode = statusCode;
    }

    /// <summary>
    /// 400 for malformed patch documents (upstream <c>errors.NewBadRequest</c>), 422 for patches that
    /// do not apply to this object (JSON patch failures, lists of lists), 500 for the strategic merge
    /// errors upstream does not classify (it returns them unwrapped, which becomes an InternalError).
    /// </summary>
    public int StatusCode { get; }
}
