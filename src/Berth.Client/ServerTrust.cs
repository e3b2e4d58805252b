using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Berth.Client;

/// <summary>
/// Which server certificates a <see cref="KubeClient"/> accepts: chains to an explicit CA; else chains to a CA whose
/// SHA-256 (of its DER) is the join token's pin; else the system trust store. The pinned CA is taken from the chain the
/// server presents or, as a k3s agent does, from the server's unauthenticated <c>/cacerts</c> bundle, which is trusted
/// only because its hash matches the pin.
/// </summary>
internal sealed class ServerTrust(Uri server, X509Certificate2? certificateAuthority, string? pin) : IDisposable
{
    private X509Certificate2? _fetchedCa;
    private volatile bool _cacertsTried;

    public void Configure(SocketsHttpHandler handler)
    {
        if (certificateAuthority is not null || pin is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = Validate;
        }
    }

    /// <summary>With a pin, fetches <c>/cacerts</c> once before the first request so the callback can find the CA.</summary>
    public async ValueTask EnsureReadyAsync(CancellationToken ct)
    {
        if (pin is null || _cacertsTried)
        {
            return;
        }

        using var handler = new SocketsHttpHandler();
        // Nothing secret is sent, and what comes back is trusted only if its hash matches the pin.
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            using var response = await http.GetAsync(new Uri(server, "/cacerts"), ct).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                var bundle = new X509Certificate2Collection();
                bundle.ImportFromPem(await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
                foreach (var certificate in bundle)
                {
                    if (_fetchedCa is null && Matches(certificate))
                    {
                        _fetchedCa = certificate;
                    }
                    else
                    {
                        certificate.Dispose();
                    }
                }
            }
            _cacertsTried = true;
        }
        catch (Exception e) when (e is HttpRequestException or CryptographicException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            // Unreachable now, or no bundle: the request itself reports an unreachable server; a bad bundle just isn't used.
            _cacertsTried = e is CryptographicException;
        }
    }

    public void Dispose() => _fetchedCa?.Dispose();

    private bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is not X509Certificate2 leaf
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable)
            || errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            return false;
        }

        var presented = new X509Certificate2Collection();
        if (chain is not null)
        {
            presented.AddRange(chain.ChainPolicy.ExtraStore);
            foreach (var element in chain.ChainElements)
            {
                presented.Add(element.Certificate);
            }
        }

        if (certificateAuthority is not null)
        {
            return ChainsTo(leaf, certificateAuthority, presented);
        }

        foreach (var candidate in presented)
        {
            if (Matches(candidate) && ChainsTo(leaf, candidate, presented))
            {
                return true;
            }
        }
        return _fetchedCa is { } fetched && ChainsTo(leaf, fetched, presented);
    }

    private bool Matches(X509Certificate2 certificate) =>
        string.Equals(JoinToken.CaHash(certificate.RawDataMemory.Span), pin, StringComparison.Ordinal);

    private static bool ChainsTo(X509Certificate2 leaf, X509Certificate2 root, X509Certificate2Collection presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.ExtraStore.AddRange(presented);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf);
    }
}
