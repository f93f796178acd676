; Inno Setup 6 script for Kura's Windows installer (build_windows.ps1 runs it):
;   ISCC.exe /DAppVersion=0.1.0 packaging\kura.iss
; Installs dist\Kura (PyInstaller's one folder) per user by default (no admin rights
; needed; the installer offers all users too), adds Start menu and optional desktop
; shortcuts. Uninstalling leaves the data folder (%LOCALAPPDATA%\Kura: the library, the
; chats and the model files) alone: the user's to delete.
; UNTESTED: written without a Windows machine to compile it on.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{5C4F2A8E-3B1D-4F6A-9C7E-2D8B1A6F4E30}
AppName=Kura
AppVersion={#AppVersion}
AppVerName=Kura {#AppVersion}
AppPublisher=Kura
AppComments=Answers from your own documents, privately and offline.
DefaultDirName={autopf}\Kura
DefaultGroupName=Kura
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir=..\dist
OutputBaseFilename=Kura-{#AppVersion}-windows-x64-setup
SetupIconFile=..\assets\icons\kura.ico
UninstallDisplayIcon={app}\Kura.exe
UninstallDisplayName=Kura
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"
#if FileExists(AddBackslash(CompilerPath) + "Languages\ChineseSimplified.isl")
Name: "chinesesimplified"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"
#endif

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\dist\Kura\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\Kura"; Filename: "{app}\Kura.exe"; Comment: "Answers from your own documents"
Name: "{autodesktop}\Kura"; Filename: "{app}\Kura.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\Kura.exe"; Description: "{cm:LaunchProgram,Kura}"; Flags: nowait postinstall skipifsilent
