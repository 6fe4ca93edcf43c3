import { Movie } from './movie.entity';
import { Rating } from './rating.entity';
import { Tag } from './tag.entity';
import { User } from './user.entity';

export { Movie, Rating, Tag, User };

export const entities = [Movie, User, Rating, Tag];
