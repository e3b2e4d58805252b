namespace Berth.Controllers.EndpointSliceMirroring;

/// <summary>
/// Upstream events.go: the reasons the mirroring controller records, on the Endpoints. (Upstream also declares
/// FailedToListEndpointSlices and FailedToUpdateEndpointSlices but never records them: a failed write is retried and logged.)
/// </summary>
public static class MirroringEvents
{
    /// <summary>An address of the Endpoints is no IP; it is not mirrored.</summary>
    public const string InvalidIPAddress = "InvalidIPAddress";

    /// <summary>A subset had more addresses than the per-subset maximum; the rest are not mirrored.</summary>
    public const string TooManyAddressesToMirror = "TooManyAddressesToMirror";
}
