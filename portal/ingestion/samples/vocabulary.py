"""The words and numbers a made-up bordereau draws from: markets with their currencies, classes of
business, causes of loss, names of companies and people, brokers, departments and notes."""

# Countries with the currencies their risks are written in, and a rough exchange rate to USD
# so that amounts look right (COP in the hundreds of millions, USD in the tens of thousands).
MARKETS = (
    ("CO", "COL", ("COP", "COP", "COP", "USD")),
    ("MX", "MEX", ("MXN", "MXN", "USD")),
    ("PE", "PER", ("PEN", "USD")),
    ("CL", "CHL", ("CLP", "USD")),
    ("EC", "ECU", ("USD",)),
    ("PA", "PAN", ("USD",)),
    ("US", "USA", ("USD",)),
    ("ES", "ESP", ("EUR",)),
    ("GB", "GBR", ("GBP", "USD")),
    ("AR", "ARG", ("USD",)),
)
MARKET_WEIGHTS = (40, 15, 8, 6, 5, 5, 8, 5, 5, 3)
TO_USD = {"COP": 4000, "MXN": 18, "PEN": 4, "CLP": 900, "USD": 1, "EUR": 1, "GBP": 1}
TAX_RATES_BP = (0, 0, 0, 250, 500, 1000)  # basis points of gross premium

CLASSES = (
    "Property",
    "Property - Todo Riesgo",
    "Property, Industrial",
    "Marine Cargo",
    "Engineering (CAR/EAR)",
    "Casualty - RC General",
    "Terrorism",
    "Cyber",
    "Energy Onshore",
    "Agricultura",
    "Fianzas / Surety",
    "Contingency",
)
CAUSES = (
    "Incendio",
    "Inundación",
    "Terremoto",
    "Robo",
    "Daño por agua",
    "Colisión",
    "Responsabilidad civil",
    "Avería de maquinaria",
    "Huracán",
    "Fire",
    "Flood",
    "Theft",
    'Cortocircuito, "según perito"',
)
COMPANY_WORDS = (
    "Inversiones",
    "Constructora",
    "Comercializadora",
    "Distribuidora",
    "Agropecuaria",
    "Transportes",
    "Hoteles",
    "Clínica",
    "Fundación",
    "Industrias",
    "Compañía",
    "Textiles",
)
COMPANY_NAMES = (
    "Andina",
    "del Pacífico",
    "Peñalosa",
    "San Martín",
    "La Montaña",
    "Río Magdalena",
    "Los Álamos",
    "El Caribe",
    "Núñez",
    "Cañaveral",
    "Santa Bárbara",
    "Médica del Valle",
    "Ibáñez",
    "Güemes",
)
COMPANY_SUFFIXES = ("S.A.S.", "S.A.", "Ltda.", "S.A. de C.V.", "S.R.L.", "& Cía. S. en C.", "S.A.C.")
FIRST_NAMES = (
    "José",
    "María",
    "Andrés",
    "Sofía",
    "Julián",
    "Inés",
    "Iván",
    "Mónica",
    "Raúl",
    "Lucía",
    "Hernán",
    "Begoña",
    "Ángela",
    "Martín",
    "Nicolás",
)
LAST_NAMES = (
    "Muñoz",
    "Pérez",
    "Gómez",
    "Rodríguez",
    "Peña",
    "Ibáñez",
    "Castaño",
    "Londoño",
    "Nariño",
    "Sánchez",
    "Díaz",
    "Ortiz",
    "Zúñiga",
    "Ramírez",
    "Beltrán",
)
BROKERS = ("Correcta Seguros Ltda.", "Marsh S.A.", "Aon Colombia", "Delima Marsh", "Willis Towers Watson", "")
DEPARTMENTS = ("Bogotá D.C.", "Antioquia", "Atlántico", "Nariño", "Valle del Cauca", "Bolívar", "Córdoba", "Boyacá")
NOTES = ("", "", "", "", "Renovación sin cambios", "Ver anexo; cláusula 4", 'Cliente "preferente"', "N/A")
