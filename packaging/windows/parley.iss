; Inno Setup script: Parley's Windows installer around the PyInstaller one-folder bundle.
; Built by .github/workflows/installers-windows.yml:
;   ISCC /DVariant=standard|warrant /DVersion=X.Y.Z /DSourceDir=build\bundle\parley parley.iss
; The warrant build installs under its own name, folder and AppId, titled so that no one can take
; it for the standard messenger, and registers the same parley:// handler (the one installed
; last answers links; the app window names its build).
#ifndef Variant
  #define Variant "standard"
#endif
#if Variant == "warrant"
  #define AppName "Parley (WARRANT BUILD)"
  #define AppId "{{6F1C3E52-8F0B-4C1A-9E4B-7A2D5C0E9B11}"
  #define DirName "Parley Warrant"
#else
  #define AppName "Parley"
  #define AppId "{{2B9D7A14-3C6E-4F85-A1D0-5E8B9C2F4A37}"
  #define DirName "Parley"
#endif

[Setup]
AppId={#AppId}
AppName={#AppName}
AppVersion={#Version}+{#Variant}
AppPublisher=Parley developers
DefaultDirName={autopf}\{#DirName}
DefaultGroupName={#AppName}
OutputBaseFilename=parley-{#Version}+{#Variant}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
; Inno Setup writes the build time into the installer; TouchDate/TouchTime pin the files' times
; (a fully reproducible setup.exe is not possible with Inno Setup; docs/packaging.md).
TimeStampsInUTC=yes
TouchDate=2026-01-01
TouchTime=00:00

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Flags: recursesubdirs ignoreversion

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\parley.exe"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\parley.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "Create a desktop shortcut"; Flags: unchecked

[Registry]
; the parley:// link handler: a clicked invite runs `parley.exe LINK`
Root: HKA; Subkey: "Software\Classes\parley"; ValueType: string; ValueData: "URL:Parley invite"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\parley"; ValueName: "URL Protocol"; ValueType: string; ValueData: ""
Root: HKA; Subkey: "Software\Classes\parley\shell\open\command"; ValueType: string; ValueData: """{app}\parley.exe"" ""%1"""

[Run]
Filename: "{app}\parley.exe"; Parameters: "--self-test"; Flags: runhidden; StatusMsg: "Checking the installation..."
