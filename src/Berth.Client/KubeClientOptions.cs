using System.Security.Cryptography.X509Certificates;

namespace Berth.Client;

/// <summary>Where the API server is and how to trust and authenticate to it.</summary>
public sealed class KubeClientOptions
{
    /// <summary>The API server's base URL, e.g. <c>https://127.0.0.1:6443</c>.</summary>
    public required Uri Server { get; init; }

    /// <summary>A bearer token, or a k3s-style join token <c>K10&lt;ca sha256&gt;::&lt;secret&gt;</c> that also pins the CA.</summary>
    public required string Token { get; init; }

    /// <summary>The only CA to trust; when null, the join token's pin, else the system trust store.</summary>
    public X509Certificate2? CertificateAuthority { get; init; }

    public string? UserAgent { get; init; }
}
