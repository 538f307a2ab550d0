#if Redis
import NIOCore
import NIOSSL
import SessionKit

extension RedisStore {
    /// Makes the TLS client context for ``Configuration/tls``, reading its files now
    /// so a missing or unreadable one fails at start-up.
    ///
    /// The server's certificate is verified in full (`fullVerification`: chain and
    /// host name) against the trust roots; nothing here can turn that off.
    static func tlsSettings(_ tls: TLS) throws(SessionConfigurationError) -> RESPConnection.TLSSettings {
        func invalid(_ setting: String, _ reason: String) -> SessionConfigurationError {
            SessionConfigurationError(setting: "RedisStore.tls.\(setting)", reason: reason)
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.certificateVerification = .fullVerification
        switch tls.trustRoots {
        case .system:
            configuration.trustRoots = .default
        case .caFile(let path):
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(path))
            } catch {
                throw invalid("trustRoots", "cannot read CA certificates from the PEM file \(path): \(error)")
            }
        case .caPEM(let pem):
            do {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(pem.utf8)))
            } catch {
                throw invalid("trustRoots", "the CA PEM text holds no readable certificate: \(error)")
            }
        }
        if case .certificates(let certificates) = configuration.trustRoots, certificates.isEmpty {
            throw invalid("trustRoots", "the CA PEM holds no certificate")
        }
        switch (tls.certificateFile, tls.privateKeyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let privateKeyFile?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            } catch {
                throw invalid("certificateFile", "cannot read the client certificate from \(certificateFile): \(error)")
            }
            do {
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyFile, format: .pem))
            } catch {
                throw invalid("privateKeyFile", "cannot read the client private key from \(privateKeyFile): \(error)")
            }
        case (nil, _?):
            throw invalid("certificateFile", "a private key needs its certificate: set both or neither")
        case (_?, nil):
            throw invalid("privateKeyFile", "a client certificate needs its private key: set both or neither")
        }
        if let serverName = tls.serverName {
            guard !serverName.isEmpty, (try? SocketAddress(ipAddress: serverName, port: 0)) == nil else {
                throw invalid("serverName", "must be a DNS name (SNI cannot carry an IP address); leave it nil to verify the IP address connected to")
            }
        }
        do {
            return RESPConnection.TLSSettings(context: try NIOSSLContext(configuration: configuration), serverName: tls.serverName)
        } catch {
            throw invalid("trustRoots", "cannot make a TLS context: \(error)")
        }
    }
}
#endif  // Redis
