using System.Buffers.Text;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Berth.ApiServer.Security;

/// <summary>
/// The cluster's TLS material and bearer token, kept under <c>DATA_DIR/pki</c> and <c>DATA_DIR/token</c> the way k3s keeps
/// its own CA and serving certificate: generated on first start, reused afterwards, the serving certificate reissued
/// (from the same CA) when it nears expiry or lacks a requested name.
/// </summary>
public sealed class ClusterCredentials : IDisposable
{
    internal const string CaCommonName = "berth-ca";
    internal const string ServerCommonName = "berth-apiserver";

    private static readonly TimeSpan s_caLifetime = TimeSpan.FromDays(3650);
    private static readonly TimeSpan s_serverLifetime = TimeSpan.FromDays(365);

    // Reissue a month early so a server that runs for weeks never serves an expired certificate.
    private static readonly TimeSpan s_renewBefore = TimeSpan.FromDays(30);

    private static readonly UnixFileMode s_ownerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private static readonly UnixFileMode s_publicRead = s_ownerOnly | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private ClusterCredentials(X509Certificate2 caCertificate, X509Certificate2 serverCertificate, string caPem, string token)
    {
        CaCertificate = caCertificate;
        ServerCertificate = serverCertificate;
        CaPem = caPem;
        Token = token;
    }

    /// <summary>The CA certificate (public part only).</summary>
    public X509Certificate2 CaCertificate { get; }

    /// <summary>The serving certificate with its private key, loaded from PKCS#12 so Kestrel/SslStream can use the key.</summary>
    public X509Certificate2 ServerCertificate { get; }

    /// <summary>The CA certificate in PEM form, as kubeconfig's certificate-authority-data carries it.</summary>
    public string CaPem { get; }

    /// <summary>The bearer token clients must present.</summary>
    public string Token { get; }

    /// <summary>Loads the credentials from <paramref name="dataDir"/>, creating or renewing what is missing or stale.</summary>
    /// <param name="serverNames">Extra DNS names or IP addresses for the serving certificate; localhost, 127.0.0.1 and ::1 are always included.</param>
    public static ClusterCredentials LoadOrCreate(string dataDir, IEnumerable<string> serverNames) =>
        LoadOrCreate(dataDir, serverNames, TimeProvider.System);

    /// <summary>As <see cref="LoadOrCreate(string, IEnumerable{string})"/>, with an explicit clock.</summary>
    public static ClusterCredentials LoadOrCreate(string dataDir, IEnumerable<string> serverNames, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(dataDir);
        ArgumentNullException.ThrowIfNull(serverNames);
        ArgumentNullException.ThrowIfNull(timeProvider);

        var now = timeProvider.GetUtcNow();
        var pki = Path.Combine(dataDir, "pki");
        CreatePrivateDirectory(dataDir);
        CreatePrivateDirectory(pki);

        var names = SanNames(serverNames);
        var caCertPath = Path.Combine(pki, "ca.crt");
        var caKeyPath = Path.Combine(pki, "ca.key");
        var serverCertPath = Path.Combine(pki, "server.crt");
        var serverKeyPath = Path.Combine(pki, "server.key");

        var (caCert, caKey) = TryLoad(caCertPath, caKeyPath) is { } ca && IsUsableCa(ca.Certificate, now)
            ? ca
            : CreateCa(now, caCertPath, caKeyPath);

        using (caKey)
        {
            var (serverCert, serverKey) = TryLoad(serverCertPath, serverKeyPath) is { } server && IsUsableServer(server.Certificate, caCert, names, now)
                ? server
                : CreateServer(caCert, caKey, names, now, serverCertPath, serverKeyPath);

            using (serverKey)
            using (serverCert)
            using (var withKey = serverCert.CopyWithPrivateKey(serverKey))
            {
                // An in-memory key made by CopyWithPrivateKey is "ephemeral"; a PKCS#12 round trip gives SslStream a
                // certificate whose key it can always use (dotnet/runtime#23749 on Windows; harmless on Linux).
                var pfx = withKey.Export(X509ContentType.Pkcs12);
                var serving = X509CertificateLoader.LoadPkcs12(pfx, password: null);
                var token = LoadOrCreateToken(Path.Combine(dataDir, "token"));
                return new ClusterCredentials(caCert, serving, caCert.ExportCertificatePem(), token);
            }
        }
    }

    /// <summary>Constant-time check of an <c>Authorization: Bearer …</c> header against the expected token.</summary>
    public static bool TokenMatches(string? authorizationHeader, string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        const string Scheme = "Bearer ";
        if (token.Length == 0 || authorizationHeader is null
            || !authorizationHeader.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var presented = authorizationHeader.AsSpan(Scheme.Length).Trim();

        // Hash both sides so the comparison takes the same time whatever the presented length.
        Span<byte> presentedHash = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> expectedHash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented.ToString()), presentedHash);
        SHA256.HashData(Encoding.UTF8.GetBytes(token), expectedHash);
        return CryptographicOperations.FixedTimeEquals(presentedHash, expectedHash);
    }

    /// <summary>Whether an <c>Authorization</c> header carries this cluster's token.</summary>
    public bool IsAuthorized(string? authorizationHeader) => TokenMatches(authorizationHeader, Token);

    public void Dispose()
    {
        ServerCertificate.Dispose();
        CaCertificate.Dispose();
    }

    private static SortedSet<string> SanNames(IEnumerable<string> serverNames)
    {
        var names = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "::1" };
        foreach (var name in serverNames)
        {
            var trimmed = name?.Trim();
            if (!string.IsNullOrEmpty(trimmed))
            {
                // Normalise IPs so "::0001" and "::1" are one name.
                names.Add(IPAddress.TryParse(trimmed, out var ip) ? ip.ToString() : trimmed.ToLowerInvariant());
            }
        }

        return names;
    }

    private static (X509Certificate2 Certificate, ECDsa Key)? TryLoad(string certPath, string keyPath)
    {
        if (!File.Exists(certPath) || !File.Exists(keyPath))
        {
            return null;
        }

        X509Certificate2? certificate = null;
        var key = ECDsa.Create();
        try
        {
            certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certPath));
            key.ImportFromPem(File.ReadAllText(keyPath));
            if (certificate.GetECDsaPublicKey() is not { } publicKey)
            {
                throw new CryptographicException("not an ECDSA certificate");
            }

            using (publicKey)
            {
                // The pair only belongs together if the public halves match.
                if (!publicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
                {
                    throw new CryptographicException("key does not match certificate");
                }
            }

            return (certificate, key);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException or IOException)
        {
            // A damaged or mismatched pair is replaced, like a missing one.
            certificate?.Dispose();
            key.Dispose();
            return null;
        }
    }

    private static bool IsUsableCa(X509Certificate2 ca, DateTimeOffset now) =>
        ca.NotBefore.ToUniversalTime() <= now.UtcDateTime
        && ca.NotAfter.ToUniversalTime() > now.UtcDateTime + s_serverLifetime
        && ca.Extensions.OfType<X509BasicConstraintsExtension>().Any(b => b.CertificateAuthority);

    private static bool IsUsableServer(X509Certificate2 server, X509Certificate2 ca, SortedSet<string> names, DateTimeOffset now)
    {
        if (server.NotBefore.ToUniversalTime() > now.UtcDateTime || server.NotAfter.ToUniversalTime() <= now.UtcDateTime + s_renewBefore)
        {
            return false;
        }

        if (!IsIssuedBy(server, ca, now))
        {
            return false;
        }

        var present = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var san in server.Extensions.OfType<X509SubjectAlternativeNameExtension>())
        {
            present.UnionWith(san.EnumerateDnsNames());
            present.UnionWith(san.EnumerateIPAddresses().Select(ip => ip.ToString()));
        }

        return names.IsSubsetOf(present);
    }

    private static bool IsIssuedBy(X509Certificate2 certificate, X509Certificate2 ca, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        return chain.Build(certificate);
    }

    private static (X509Certificate2, ECDsa) CreateCa(DateTimeOffset now, string certPath, string keyPath)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={CaCommonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(
            X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));

        // Backdate an hour so clocks that are slightly behind still accept a fresh certificate.
        using var selfSigned = request.CreateSelfSigned(now.AddHours(-1), now + s_caLifetime);
        var certificate = X509Certificate2.CreateFromPem(selfSigned.ExportCertificatePem());
        WriteFile(keyPath, key.ExportPkcs8PrivateKeyPem(), s_ownerOnly);
        WriteFile(certPath, certificate.ExportCertificatePem(), s_publicRead);
        return (certificate, key);
    }

    private static (X509Certificate2, ECDsa) CreateServer(X509Certificate2 ca, ECDsa caKey, SortedSet<string> names, DateTimeOffset now, string certPath, string keyPath)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={ServerCommonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip))
            {
                san.AddIpAddress(ip);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));

        var notAfter = now + s_serverLifetime;
        if (notAfter > ca.NotAfter.ToUniversalTime())
        {
            notAfter = ca.NotAfter.ToUniversalTime();
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number, as RFC 5280 requires

        using var issuer = ca.CopyWithPrivateKey(caKey);
        using var issued = request.Create(issuer, now.AddHours(-1), notAfter, serial);
        var certificate = X509Certificate2.CreateFromPem(issued.ExportCertificatePem());
        WriteFile(keyPath, key.ExportPkcs8PrivateKeyPem(), s_ownerOnly);
        WriteFile(certPath, certificate.ExportCertificatePem(), s_publicRead);
        return (certificate, key);
    }

    private static string LoadOrCreateToken(string path)
    {
        if (File.Exists(path))
        {
            var existing = File.ReadAllText(path).Trim();
            if (existing.Length != 0)
            {
                return existing;
            }
        }

        var token = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        WriteFile(path, token + "\n", s_ownerOnly);
        return token;
    }

    private static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(path);
        }
        else if (!Directory.Exists(path))
        {
            Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>Writes via a temporary file and a rename so readers never see half a key, with the mode set at creation.</summary>
    internal static void WriteFile(string path, string contents, UnixFileMode mode)
    {
        var temporary = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false)))
        {
            writer.Write(contents);
        }

        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode is filtered by the umask and does not apply when the temporary file already existed.
            File.SetUnixFileMode(temporary, mode);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
